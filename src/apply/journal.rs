//! The journal writer: one task that appends entries for every resource change, batching
//! what arrives together into one durable append (group commit), so persisting after every
//! resource stays cheap when thousands finish at once.

use std::sync::Arc;

use plinth_state::{JournalEntry, StateDocument, StateError, StateStore};
use tokio::sync::{mpsc, oneshot};

type Request = (Vec<JournalEntry>, oneshot::Sender<Result<(), String>>);

/// Handle to the writer task.
#[derive(Clone)]
pub struct JournalWriter {
    sender: mpsc::UnboundedSender<Request>,
    failed: Arc<std::sync::Mutex<Option<String>>>,
}

/// Counters of what the writer did.
#[derive(Clone, Copy, Debug, Default)]
pub struct JournalStats {
    /// Entries written.
    pub entries: usize,
    /// Durable appends (fsyncs / remote writes).
    pub appends: usize,
}

impl JournalWriter {
    /// Starts the writer on the current runtime, keeping `document` up to date with every
    /// entry made durable. Returns the handle and the task, which ends (yielding its stats and
    /// the document) when every handle is dropped.
    pub fn start(
        store: Arc<dyn StateStore>,
        mut document: StateDocument,
    ) -> (Self, tokio::task::JoinHandle<(JournalStats, StateDocument)>) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Request>();
        let shared_failure = Arc::new(std::sync::Mutex::new(None));
        let seen_failure = Arc::clone(&shared_failure);
        let task = tokio::spawn(async move {
            let mut stats = JournalStats::default();
            // Fail-stop: after a failed append nothing more is written, so an entry that is
            // durable implies every entry queued before it is durable too (the executor relies
            // on this to start dependents before their dependency's result is on disk).
            let mut failed: Option<String> = None;
            while let Some(first) = receiver.recv().await {
                let mut entries = first.0;
                let mut acks = vec![first.1];
                while let Ok((more, ack)) = receiver.try_recv() {
                    entries.extend(more);
                    acks.push(ack);
                }
                let result = match &failed {
                    Some(error) => Err(format!("an earlier state write failed: {error}")),
                    None => store
                        .append(&entries)
                        .await
                        .map_err(|e: StateError| e.to_string()),
                };
                if let Err(error) = &result {
                    failed.get_or_insert_with(|| error.clone());
                    let mut shared = seen_failure.lock().unwrap_or_else(|e| e.into_inner());
                    shared.get_or_insert_with(|| error.clone());
                }
                stats.entries += entries.len();
                if result.is_ok() {
                    for entry in entries {
                        document.apply_owned(entry);
                    }
                }
                stats.appends += 1;
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
            (stats, document)
        });
        (
            JournalWriter {
                sender,
                failed: shared_failure,
            },
            task,
        )
    }

    /// The first failed state write, once one failed: nothing more can be recorded, so no
    /// new provider call may start.
    pub fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Appends entries and waits until they are durable.
    pub async fn write(&self, entries: Vec<JournalEntry>) -> Result<(), String> {
        self.enqueue(entries, String::new())?.wait().await
    }

    /// Queues entries behind everything queued so far and returns at once; the returned
    /// [`Durable`] resolves when they are on disk. Entries queued later are written in the
    /// same or a later append, and never after a failed one.
    pub fn enqueue(&self, entries: Vec<JournalEntry>, context: String) -> Result<Durable, String> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send((entries, ack))
            .map_err(|_| "the state writer stopped".to_string())?;
        Ok(Durable { done, context })
    }
}

/// Entries queued with [`JournalWriter::enqueue`], not yet known to be durable.
pub struct Durable {
    done: oneshot::Receiver<Result<(), String>>,
    context: String,
}

impl Durable {
    /// Waits until the entries are durable; an error names what was being recorded.
    pub async fn wait(self) -> Result<(), String> {
        let result = self
            .done
            .await
            .map_err(|_| "the state writer stopped".to_string())
            .and_then(|r| r);
        match result {
            Err(e) if !self.context.is_empty() => Err(format!("{}: {e}", self.context)),
            other => other,
        }
    }
}
