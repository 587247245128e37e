//! The types a method's call site has seen as `Self`. A trait's default method is one call site for
//! every type that uses it, so its `function` label (`Alpha::handle`, `Beta::handle`) is per type: each
//! call compares its `type_name::<Self>()` with the first type's (a pointer and a length), and only a
//! call from another type looks further, in this table.

use std::sync::{PoisonError, RwLock};

/// Distinct names past which further types share one overflow name: a handful is what a default method
/// sees in practice, and each name is a set of series.
pub(crate) const MAX_NAMES: usize = 8;

/// Full type names remembered (generic instances of one type share its name, and its entry); past this,
/// a call from an unremembered type looks its name up again.
const MAX_TYPES: usize = 64;

/// `type_name::<Self>()` of each type seen after the first, and what its calls resolve to.
pub(crate) struct SelfTypes<T: 'static> {
    seen: RwLock<Vec<(&'static str, &'static T)>>,
}

impl<T: 'static> SelfTypes<T> {
    pub(crate) const fn new() -> Self {
        SelfTypes {
            seen: RwLock::new(Vec::new()),
        }
    }

    /// What `type_name` resolved to before, if it was remembered.
    pub(crate) fn get(&self, type_name: &str) -> Option<&'static T> {
        self.seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(seen, _)| same_type_name(seen, type_name))
            .map(|(_, resolved)| *resolved)
    }

    /// Every distinct value resolved so far.
    pub(crate) fn resolved(&self) -> Vec<&'static T> {
        let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<&'static T> = Vec::new();
        for (_, resolved) in seen.iter() {
            if !all.iter().any(|r| std::ptr::eq(*r, *resolved)) {
                all.push(resolved);
            }
        }
        all
    }

    /// Remembers what `type_name` resolves to (unless the table is full); returns it.
    pub(crate) fn remember(&self, type_name: &'static str, resolved: &'static T) -> &'static T {
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if seen.len() < MAX_TYPES && !seen.iter().any(|(t, _)| same_type_name(t, type_name)) {
            seen.push((type_name, resolved));
        }
        resolved
    }
}

/// `type_name` returns a `'static` string per type; equal types usually share it, but codegen units may
/// each have a copy, so equal contents count too.
#[inline]
pub(crate) fn same_type_name(a: &str, b: &str) -> bool {
    (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_type_once_and_lists_distinct_values() {
        static A: u8 = 1;
        static B: u8 = 2;
        let table = SelfTypes::<u8>::new();
        assert!(table.get("x::Alpha").is_none());
        table.remember("x::Alpha", &A);
        table.remember("x::Alpha", &B);
        table.remember("x::Wrap<u8>", &B);
        table.remember("x::Wrap<u16>", &B);
        assert_eq!(table.get(&String::from("x::Alpha")), Some(&1));
        assert_eq!(table.get("x::Wrap<u16>"), Some(&2));
        assert_eq!(table.resolved(), [&1, &2]);
    }
}
