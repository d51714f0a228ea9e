//! Where the direct reader remembers how far it got in each shard.
//!
//! A checkpoint is saved only after the records before it were handed out
//! and the consumer asked for more, so a reader that stops and starts again
//! from its checkpoints loses nothing (and may see the last batch again:
//! delivery is at least once).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How far a shard was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Checkpoint {
    /// Every record up to and including this sequence number was processed.
    After {
        /// The last processed sequence number.
        sequence_number: String,
    },
    /// The shard is closed and every record of it was processed.
    Finished,
}

/// A checkpoint store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("checkpoint file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint file.
    #[error("checkpoint file {} is not valid: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A lock was poisoned by a panic elsewhere.
    #[error("the checkpoint store was poisoned by a panic")]
    Poisoned,
}

/// Per-shard checkpoints of one stream.
pub trait CheckpointStore {
    /// The checkpoint of `shard_id`, if any.
    fn load(
        &self,
        stream_arn: &str,
        shard_id: &str,
    ) -> impl Future<Output = Result<Option<Checkpoint>, CheckpointError>> + Send;
    /// Saves the checkpoint of `shard_id`.
    fn save(
        &self,
        stream_arn: &str,
        shard_id: &str,
        checkpoint: Checkpoint,
    ) -> impl Future<Output = Result<(), CheckpointError>> + Send;
}

impl<T: CheckpointStore + Sync + ?Sized> CheckpointStore for &T {
    fn load(
        &self,
        stream_arn: &str,
        shard_id: &str,
    ) -> impl Future<Output = Result<Option<Checkpoint>, CheckpointError>> + Send {
        (**self).load(stream_arn, shard_id)
    }
    fn save(
        &self,
        stream_arn: &str,
        shard_id: &str,
        checkpoint: Checkpoint,
    ) -> impl Future<Output = Result<(), CheckpointError>> + Send {
        (**self).save(stream_arn, shard_id, checkpoint)
    }
}

type Shards = BTreeMap<String, BTreeMap<String, Checkpoint>>;

/// Checkpoints in memory, for tests and one-off reads.
#[derive(Debug, Default)]
pub struct InMemoryCheckpoints {
    shards: Mutex<Shards>,
}

impl InMemoryCheckpoints {
    /// A copy of every checkpoint, by stream then shard.
    pub fn snapshot(&self) -> Result<Shards, CheckpointError> {
        self.shards
            .lock()
            .map(|s| s.clone())
            .map_err(|_| CheckpointError::Poisoned)
    }
}

impl CheckpointStore for InMemoryCheckpoints {
    async fn load(
        &self,
        stream_arn: &str,
        shard_id: &str,
    ) -> Result<Option<Checkpoint>, CheckpointError> {
        lookup(&self.shards, stream_arn, shard_id)
    }

    async fn save(
        &self,
        stream_arn: &str,
        shard_id: &str,
        checkpoint: Checkpoint,
    ) -> Result<(), CheckpointError> {
        record(&self.shards, stream_arn, shard_id, checkpoint, |_| Ok(()))
    }
}

/// The checkpoint of `shard_id` of `stream_arn` among `shards`.
fn lookup(
    shards: &Mutex<Shards>,
    stream_arn: &str,
    shard_id: &str,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let shards = shards.lock().map_err(|_| CheckpointError::Poisoned)?;
    Ok(shards
        .get(stream_arn)
        .and_then(|s| s.get(shard_id))
        .cloned())
}

/// Sets the checkpoint of `shard_id` of `stream_arn` among `shards`, then
/// hands them, still locked, to `persist`.
fn record(
    shards: &Mutex<Shards>,
    stream_arn: &str,
    shard_id: &str,
    checkpoint: Checkpoint,
    persist: impl FnOnce(&Shards) -> Result<(), CheckpointError>,
) -> Result<(), CheckpointError> {
    let mut shards = shards.lock().map_err(|_| CheckpointError::Poisoned)?;
    shards
        .entry(stream_arn.to_owned())
        .or_default()
        .insert(shard_id.to_owned(), checkpoint);
    persist(&shards)
}

/// Checkpoints in a JSON file, written whole to a temporary file and renamed
/// over the old one, so a crash never leaves half a file.
#[derive(Debug)]
pub struct FileCheckpoints {
    path: PathBuf,
    shards: Mutex<Shards>,
}

impl FileCheckpoints {
    /// Opens (or starts) the checkpoint file at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let path = path.into();
        let shards = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Shards::new(),
            Err(source) => return Err(CheckpointError::Io { path, source }),
        };
        Ok(Self {
            path,
            shards: Mutex::new(shards),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, shards: &Shards) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(shards).map_err(|e| CheckpointError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)
    }
}

impl CheckpointStore for FileCheckpoints {
    async fn load(
        &self,
        stream_arn: &str,
        shard_id: &str,
    ) -> Result<Option<Checkpoint>, CheckpointError> {
        lookup(&self.shards, stream_arn, shard_id)
    }

    async fn save(
        &self,
        stream_arn: &str,
        shard_id: &str,
        checkpoint: Checkpoint,
    ) -> Result<(), CheckpointError> {
        record(&self.shards, stream_arn, shard_id, checkpoint, |shards| {
            self.write(shards)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn file_checkpoints_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("sg-checkpoints-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoints.json");
        let _ = std::fs::remove_file(&path);
        let store = FileCheckpoints::open(&path).unwrap();
        block_on(store.save(
            "arn:s",
            "shardId-1",
            Checkpoint::After {
                sequence_number: "42".into(),
            },
        ))
        .unwrap();
        block_on(store.save("arn:s", "shardId-0", Checkpoint::Finished)).unwrap();
        let reopened = FileCheckpoints::open(&path).unwrap();
        assert_eq!(
            block_on(reopened.load("arn:s", "shardId-1")).unwrap(),
            Some(Checkpoint::After {
                sequence_number: "42".into()
            })
        );
        assert_eq!(
            block_on(reopened.load("arn:s", "shardId-0")).unwrap(),
            Some(Checkpoint::Finished)
        );
        assert_eq!(
            block_on(reopened.load("arn:other", "shardId-0")).unwrap(),
            None
        );
        std::fs::write(&path, b"{not json").unwrap();
        let err = FileCheckpoints::open(&path).unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
