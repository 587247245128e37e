//! What the expanded code of `#[observe]` and `#[business_span]` calls, per call: the site's `static`
//! ([`meta`], [`site`], resolved on first call into [`resolved`]), the guard that records the call
//! ([`guard`], handing a [`completion`] to the site's log line), the type probes that decide from a
//! return type whether the call failed ([`probes`]), the `?` operator spelt out for sync bodies
//! ([`question_mark`]), the future of a non-`async` function ([`observed_future`]), the per-`Self`
//! names of a default method ([`self_types`]) and the compile-time kill switch ([`kill_switch`]).

pub(crate) mod completion;
pub(crate) mod guard;
mod kill_switch;
pub(crate) mod meta;
pub(crate) mod observed_future;
pub(crate) mod probes;
pub(crate) mod question_mark;
pub(crate) mod resolved;
mod self_types;
pub(crate) mod site;
