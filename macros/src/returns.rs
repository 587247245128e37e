//! What a non-`async` function's signature says it returns: a future (whose completion, not its
//! construction, is the call), or a value that is known not to be one.

use crate::exits::mentions_impl_trait;
use syn::{GenericArgument, PathArguments, ReturnType, Type, TypeParamBound};

/// A future in the signature.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FutureKind {
    /// `impl Future<Output = T> (+ ..)`: one concrete future type.
    Impl,
    /// `Pin<Box<dyn Future<Output = T> (+ ..)>>`, or the `futures` aliases `BoxFuture<'_, T>` and
    /// `LocalBoxFuture<'_, T>`.
    Boxed,
}

/// A future in the signature, and its `Output` where it is written (and can be named in a turbofish):
/// the returned future's output is then known before its body is type-checked, as the probes need.
#[derive(Clone)]
pub(crate) struct FutureReturn<'a> {
    pub kind: FutureKind,
    pub output: Option<&'a Type>,
}

pub(crate) fn future_return<'a>(output: &'a ReturnType) -> Option<FutureReturn<'a>> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let found = |kind, output: Option<&'a Type>| Some(FutureReturn { kind, output });
    match ungroup(ty) {
        Type::ImplTrait(t) => future_output(&t.bounds).map(|o| FutureReturn {
            kind: FutureKind::Impl,
            output: o,
        }),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "BoxFuture" | "LocalBoxFuture" => {
                    found(FutureKind::Boxed, single_type_arg(&last.arguments))
                }
                "Pin" => {
                    let boxed = single_type_arg(&last.arguments)?;
                    let Type::Path(b) = ungroup(boxed) else {
                        return None;
                    };
                    let b = b.path.segments.last()?;
                    if b.ident != "Box" {
                        return None;
                    }
                    match ungroup(single_type_arg(&b.arguments)?) {
                        Type::TraitObject(o) => future_output(&o.bounds).map(|o| FutureReturn {
                            kind: FutureKind::Boxed,
                            output: o,
                        }),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether the return type is certainly not a future, so the check that a sync body's value is none
/// can be left out: `()`, and the standard types a future never hides behind.
pub(crate) fn surely_not_a_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return true;
    };
    match ungroup(ty) {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Never(_) | Type::Array(_) | Type::Slice(_) => true,
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            matches!(
                s.ident.to_string().as_str(),
                "Result"
                    | "Option"
                    | "String"
                    | "Vec"
                    | "HashMap"
                    | "BTreeMap"
                    | "bool"
                    | "char"
                    | "u8"
                    | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
                    | "f32"
                    | "f64"
            )
        }),
        _ => false,
    }
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

fn single_type_arg(args: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(a) = args else {
        return None;
    };
    let mut types = a.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// `Some(output)` when the bounds include `Future`; `output` is its `Output = T` when written and free
/// of `impl Trait`.
fn future_output<P>(
    bounds: &syn::punctuated::Punctuated<TypeParamBound, P>,
) -> Option<Option<&Type>> {
    bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(t) = b else {
            return None;
        };
        let last = t.path.segments.last().filter(|s| s.ident == "Future")?;
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return Some(None);
        };
        Some(args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(a) if a.ident == "Output" && !mentions_impl_trait(&a.ty) => {
                Some(&a.ty)
            }
            _ => None,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(tokens: &str) -> ReturnType {
        syn::parse_str(tokens).unwrap()
    }

    #[test]
    fn futures_in_signatures() {
        use FutureKind::*;
        for (sig, expected) in [
            ("-> impl Future<Output = u32>", Some(Impl)),
            (
                "-> impl std::future::Future<Output = Result<u32, E>> + Send + 'a",
                Some(Impl),
            ),
            ("-> impl Iterator<Item = u32>", None),
            ("-> Pin<Box<dyn Future<Output = u32> + Send>>", Some(Boxed)),
            (
                "-> std::pin::Pin<Box<dyn core::future::Future<Output = ()> + Send + 'async_trait>>",
                Some(Boxed),
            ),
            ("-> BoxFuture<'static, u32>", Some(Boxed)),
            ("-> futures::future::LocalBoxFuture<'_, u32>", Some(Boxed)),
            ("-> Pin<Box<dyn Stream<Item = u32>>>", None),
            ("-> Pin<&mut T>", None),
            ("-> Result<u32, E>", None),
            ("", None),
        ] {
            let ret = ret(sig);
            assert_eq!(future_return(&ret).map(|f| f.kind), expected, "{sig}");
        }
    }

    #[test]
    fn types_that_are_surely_not_futures() {
        for sig in [
            "",
            "-> ()",
            "-> Result<u32, E>",
            "-> io::Result<()>",
            "-> u64",
            "-> !",
        ] {
            assert!(surely_not_a_future(&ret(sig)), "{sig}");
        }
        for sig in [
            "-> MyFuture",
            "-> Box<dyn Future<Output = ()> + Unpin>",
            "-> &'a mut F",
        ] {
            assert!(!surely_not_a_future(&ret(sig)), "{sig}");
        }
    }
}

#[cfg(test)]
mod output_tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn the_output_type_when_written() {
        for (sig, output) in [
            (
                "-> impl Future<Output = Result<u32, E>> + Send",
                Some("Result < u32 , E >"),
            ),
            ("-> impl Future", None),
            ("-> impl Future<Output = impl Display>", None),
            (
                "-> Pin<Box<dyn Future<Output = u8> + Send + '_>>",
                Some("u8"),
            ),
            (
                "-> BoxFuture<'static, Result<usize, E>>",
                Some("Result < usize , E >"),
            ),
        ] {
            let ret: ReturnType = syn::parse_str(sig).unwrap();
            let found = future_return(&ret).expect(sig);
            let written = found.output.map(|t| t.to_token_stream().to_string());
            assert_eq!(written.as_deref(), output, "{sig}");
        }
    }
}
