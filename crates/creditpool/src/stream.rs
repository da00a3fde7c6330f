//! [`MessageStream`]: a streamed Messages API call, as a `Stream` of events.

use crate::client::Client;
use crate::error::Error;
use crate::transport::BoxFuture;
use creditpool_core::api::StreamEvent;
use creditpool_core::call::{Completed, MessagesCall, RetryNotice};
use futures_util::{Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// One item of a streamed response.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // transient values, handed out one by one
pub enum StreamItem {
    /// An event of the response, already applied to the message.
    Event(StreamEvent),
    /// The attempt that handed out the events so far failed and the call
    /// will send again: the response starts over from its first event, so
    /// discard what was shown. The core's notice (as JSON,
    /// [`RetryNotice::to_event`], a `stream_retry` event): the failed
    /// attempt, the delay before the next one, the failure's code and message.
    Retry(RetryNotice),
}

impl StreamItem {
    /// The event, if this item is one.
    pub fn event(&self) -> Option<&StreamEvent> {
        match self {
            StreamItem::Event(e) => Some(e),
            StreamItem::Retry(_) => None,
        }
    }
}

/// A streamed call: a [`Stream`] of [`StreamItem`]s, then
/// [`final_message`](MessageStream::final_message).
///
/// The call runs only while the stream is polled, in the polling task; drop the
/// stream to abandon it. The stream ends after the last event; if the call
/// failed for good, its last item is the error (for a stream that failed
/// part-way, [`Error::partial`] holds the message received before).
///
/// Memory stays bounded whatever the server sends: the body is read only
/// while the events already read have been taken (at most one transport
/// chunk's events wait), the message is held once (by the core, capped at
/// [`CallOptions::max_stream_bytes`](creditpool_core::call::CallOptions)),
/// and the final error moves out with its partial message, uncopied.
#[must_use = "a stream does nothing unless polled"]
pub struct MessageStream {
    /// Events read and not yet taken: one chunk's at most (the driver yields
    /// after handing them over, and is polled again only once this is empty).
    queue: Arc<Mutex<VecDeque<StreamItem>>>,
    driver: Option<BoxFuture<'static, Result<Completed, Error>>>,
    result: Option<Result<Completed, Error>>,
    error_yielded: bool,
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream").field("running", &self.driver.is_some()).finish_non_exhaustive()
    }
}

impl MessageStream {
    pub(crate) fn start(client: Client, mut call: MessagesCall, max_body_bytes: usize) -> MessageStream {
        let queue: Arc<Mutex<VecDeque<StreamItem>>> = Arc::default();
        let sink = Arc::clone(&queue);
        let driver = Box::pin(async move {
            let mut push = |item: StreamItem| {
                sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(item);
            };
            client.drive(&mut call, max_body_bytes, &mut push).await
        });
        MessageStream { queue, driver: Some(driver), result: None, error_yielded: false }
    }

    /// Runs the call to its end (skipping events not yet read) and returns the
    /// final message, or the error that ended the call. (Once the stream has
    /// yielded that error, which carries the partial message, the error
    /// returned here is the same without its partial: it is never copied.)
    pub async fn final_message(mut self) -> Result<Completed, Error> {
        while let Some(item) = self.next().await {
            item?;
        }
        self.result.take().unwrap_or(Err(Error::NoResult))
    }

    fn pop(&self) -> Option<StreamItem> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front()
    }
}

impl Stream for MessageStream {
    type Item = Result<StreamItem, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.pop() {
                return Poll::Ready(Some(Ok(item)));
            }
            let Some(driver) = this.driver.as_mut() else {
                if let Some(Err(e)) = &mut this.result {
                    if !this.error_yielded {
                        this.error_yielded = true;
                        // The error goes out with its partial (moved, never
                        // cloned: it may hold up to the stream cap); what
                        // stays for `final_message` is the same error
                        // without it.
                        let kept = without_partial(e);
                        return Poll::Ready(Some(Err(std::mem::replace(e, kept))));
                    }
                }
                return Poll::Ready(None);
            };
            match driver.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    this.driver = None;
                    this.result = Some(result);
                }
                Poll::Pending => {
                    // Events may have arrived before the driver blocked.
                    return match this.pop() {
                        Some(item) => Poll::Ready(Some(Ok(item))),
                        None => Poll::Pending,
                    };
                }
            }
        }
    }
}

/// A copy of `e` without its partial message (left in `e`), so that the
/// partial is never copied.
fn without_partial(e: &mut Error) -> Error {
    match e {
        Error::Call(call) => {
            let partial = call.partial.take();
            let copy = Error::Call(call.clone());
            call.partial = partial;
            copy
        }
        Error::Run { partial, .. } => {
            let taken = partial.take();
            let copy = e.clone();
            if let Error::Run { partial, .. } = e {
                *partial = taken;
            }
            copy
        }
        other => other.clone(),
    }
}
