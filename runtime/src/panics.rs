//! What a panic said, for the completion line and span of the call it unwinds through.
//!
//! A guard dropped by unwinding sees only that the thread is panicking; the message and location are
//! given to the panic hook. sightline's hook (installed once, with telemetry) keeps them in a
//! thread-local and then calls the hook that was there before, so the default stderr report (or the
//! application's own hook) is unchanged. An application that sets its own hook afterwards replaces it:
//! its panics then say only `panicked`.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// The last panic on this thread, as the default hook writes it: `panicked at src/orders.rs:42:9:
    /// out of stock`.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Longest message kept: a panic's text can be a whole formatted value.
const LONGEST: usize = 2048;

static HOOK: Once = Once::new();

/// Puts sightline's hook in front of the current one, once per process.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = describe(info.payload(), info.location());
            // A panic inside a thread-local's destructor may find it gone: then nothing is kept.
            let _ = LAST.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// What the panic unwinding this thread said, if the hook saw it.
pub(crate) fn current() -> Option<String> {
    if !std::thread::panicking() {
        return None;
    }
    LAST.try_with(|last| last.try_borrow().ok().and_then(|l| l.clone()))
        .ok()
        .flatten()
}

/// A panic caught (unwinding is over) with this payload: what the hook saw of it, when the message it kept
/// is this payload's, else the payload's text.
pub(crate) fn caught(payload: &(dyn std::any::Any + Send)) -> String {
    let text = describe(payload, None);
    let payload_text = text.strip_prefix("panicked: ").unwrap_or(&text);
    let kept = LAST
        .try_with(|last| last.try_borrow_mut().ok().and_then(|mut l| l.take()))
        .ok()
        .flatten();
    match kept {
        Some(kept) if kept.ends_with(payload_text) => kept,
        _ => text,
    }
}

/// `panicked at file:line:col: message`, the message as the default hook prints it (`Box<dyn Any>` for a
/// payload that is not text).
pub(crate) fn describe(
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let mut message = match location {
        Some(at) => format!(
            "panicked at {}:{}:{}: {text}",
            at.file(),
            at.line(),
            at.column()
        ),
        None => format!("panicked: {text}"),
    };
    if message.len() > LONGEST {
        let mut end = LONGEST;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_as_the_default_hook_writes_them() {
        let at = std::panic::Location::caller();
        let text: Box<dyn std::any::Any + Send> = Box::new("out of stock");
        let described = describe(&*text, Some(at));
        assert_eq!(
            described,
            format!(
                "panicked at {}:{}:{}: out of stock",
                at.file(),
                at.line(),
                at.column()
            )
        );
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("sku 7"));
        assert_eq!(describe(&*owned, None), "panicked: sku 7");
        let other: Box<dyn std::any::Any + Send> = Box::new(7u8);
        assert_eq!(describe(&*other, None), "panicked: Box<dyn Any>");
        let long: Box<dyn std::any::Any + Send> = Box::new("é".repeat(5000));
        assert!(describe(&*long, None).len() <= LONGEST);
    }

    #[test]
    fn the_hook_keeps_the_message_while_unwinding() {
        install_hook();
        struct Probe(std::sync::mpsc::Sender<Option<String>>);
        impl Drop for Probe {
            fn drop(&mut self) {
                let _ = self.0.send(current());
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = std::thread::spawn(move || {
            let _probe = Probe(tx);
            panic!("boom {}", 7);
        })
        .join();
        let seen = rx.recv().unwrap().expect("the message");
        assert!(
            seen.starts_with("panicked at runtime/src/panics.rs:"),
            "{seen}"
        );
        assert!(seen.ends_with(": boom 7"), "{seen}");
        assert_eq!(current(), None, "not while nothing panics");
    }
}
