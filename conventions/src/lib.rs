//! The one table of names sightline uses: the families it records, the labels they carry, the HTTP
//! methods, the keys of a log line, the names whose values are secrets and the kinds of secret it
//! recognises by shape, the redaction marker. The macros check against it at compile time, the runtime
//! records and redacts by it, and the alert generator queries it: a name is written here once, so the
//! three can never disagree.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod families;
mod labels;
mod log_line;
mod sensitive;

pub use families::*;
pub use labels::*;
pub use log_line::*;
pub use sensitive::*;
