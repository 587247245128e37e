//! The reason in a small plain-text 4xx response, for the access line: how axum's extractors explain a
//! rejected request (`Failed to deserialize the JSON body into the target type: missing field `sku``, a
//! missing `Content-Type`), since no handler ran to say it.

use super::scope::Failure;
use http::Response;

/// Bodies longer than this are the application's own pages, not a rejection's sentence.
#[cfg(feature = "axum")]
const LONGEST: u64 = 1024;

/// The reason a 4xx response carries as its plain-text body, when the body is axum's, already complete
/// in memory and at most [`LONGEST`] bytes; the response is left as it was.
#[cfg(feature = "axum")]
pub(crate) fn reason<B: 'static>(response: &mut Response<B>) -> Option<Failure> {
    use axum::body::{Body, HttpBody};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// A body that is complete in memory answers its first poll at once; one that is not is left alone.
    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    if !(400..500).contains(&response.status().as_u16()) {
        return None;
    }
    let plain = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    // Typed as axum's body: a generic body cannot be rebuilt once read.
    let body = (response.body_mut() as &mut dyn std::any::Any).downcast_mut::<Body>()?;
    let len = body.size_hint().exact()?;
    if !plain || len == 0 || len > LONGEST {
        return None;
    }
    let waker = Waker::from(Arc::new(NoWake));
    let mut cx = Context::from_waker(&waker);
    let mut taken = std::mem::take(body);
    let bytes = match std::pin::Pin::new(&mut taken).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
            Ok(bytes) => bytes,
            // A trailers frame first: not a sentence; nothing was consumed but the frame, which a
            // plain-text rejection does not have.
            Err(_) => {
                *body = taken;
                return None;
            }
        },
        // Not complete in memory (or failing): put it back untouched.
        Poll::Pending | Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
            *body = taken;
            return None;
        }
    };
    // An exact size hint of `len` and a first frame of `len` bytes: that frame is the whole body.
    let whole = bytes.len() as u64 == len;
    let reason = whole.then(|| String::from_utf8_lossy(&bytes).into_owned());
    *body = if whole {
        Body::from(bytes)
    } else {
        // The rest is still in `taken`: the frame read, then the remainder.
        chained(bytes, taken)
    };
    reason.map(|error| Failure {
        kind: "rejected",
        error: Some(error),
    })
}

/// `first` followed by what is left of `rest`.
#[cfg(feature = "axum")]
fn chained(first: axum::body::Bytes, rest: axum::body::Body) -> axum::body::Body {
    axum::body::Body::new(Prefixed {
        first: Some(first),
        rest,
    })
}

/// A body whose first frame was read, put back in front of the rest.
#[cfg(feature = "axum")]
struct Prefixed {
    first: Option<axum::body::Bytes>,
    rest: axum::body::Body,
}

#[cfg(feature = "axum")]
impl http_body::Body for Prefixed {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.first.take() {
            Some(first) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(first)))),
            None => std::pin::Pin::new(&mut self.rest).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let mut hint = self.rest.size_hint();
        let first = self.first.as_ref().map_or(0, |b| b.len() as u64);
        hint.set_lower(hint.lower() + first);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

#[cfg(not(feature = "axum"))]
pub(crate) fn reason<B>(response: &mut Response<B>) -> Option<Failure> {
    let _ = response;
    None
}
