//! Code generation for `#[observe]`, from a checked [`ObserveArgs`] and the function. Reads no tokens of
//! its own: everything it knows comes from the parsed model.
//!
//! The function keeps its signature and attributes. Its body becomes (unless the runtime is built with
//! `--cfg sightline_disable`, the kill switch: then the function's own statements, see `bare_body`):
//! - a `static` call site: what the macro knows (names, kind, buckets, which lines, field names), with the
//!   metric children resolved on the first call;
//! - a guard, started with the call, that holds the call's span (entered for a sync body, on every poll of
//!   an async one) and records the call once: with the return value where the body ends, or on drop as a
//!   panic or a cancellation;
//! - `fields(..)` values, evaluated only when the call has a span.
//!
//! Everything else (the span, the completion line, its level) is the runtime's, driven by the site's
//! `static`: an expansion that type-checks little is what keeps `cargo check` fast. A sync body's exits
//! (`return`, `?`) leave a labelled block, so the outcome is worked out in one place per function.
//!
//! Generated locals and the label use `Span::mixed_site()`, so the user's body can neither see nor shadow
//! them.

use crate::arguments::Mode;
use crate::attr::ObserveArgs;
use crate::check;
use crate::exits::{mentions_impl_trait, Exits};
use crate::item::{body_tokens, describe_non_fn, Body, FnFacts, FnTokens, ObservedFn};
use crate::labels::{label_code, LabelCode};
use crate::returns::{future_return, surely_not_a_future, FutureKind, FutureReturn};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ReturnType, Stmt};

pub(crate) fn expand(args: TokenStream, item: TokenStream, mode: Mode) -> TokenStream {
    // The kill switch, seen by this crate too (`RUSTFLAGS` reach proc macros unless `--target` is
    // given): the function stays as written, its body not even parsed, and the attribute costs the
    // build next to nothing. Where only the runtime sees it, `select_body!` picks the bare body instead.
    if cfg!(sightline_disable) {
        return expand_bare(args, item, mode);
    }
    let f = match syn::parse2::<ObservedFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => return not_a_function(item, mode),
    };
    // Every mistake at once: what the parse found, and what the checks find in whatever parsed.
    let (args, mut errors) = ObserveArgs::parse(args, mode);
    if let Some(args) = &args {
        if let Err(e) = check::check(args, &FnFacts::of(&f)) {
            errors.add(e);
        }
    }
    match (args, errors.finish()) {
        (Some(args), Ok(())) => Expansion::new(&args, &f).function(&item),
        (_, result) => {
            let error = result.err().map(|e| e.to_compile_error());
            quote!(#error #item)
        }
    }
}

/// The expansion under the kill switch: the function with its bare body (see `bare_extras`), every
/// mistake in the attribute still reported. The function is read as tokens, never parsed, and handed
/// back as it came when the attribute adds nothing to it.
fn expand_bare(args: TokenStream, item: TokenStream, mode: Mode) -> TokenStream {
    let Some(f) = FnTokens::scan(item.clone()) else {
        return not_a_function(item, mode);
    };
    let (args, mut errors) = ObserveArgs::parse(args, mode);
    if let Some(args) = &args {
        if let Err(e) = check::check(args, &f.facts) {
            errors.add(e);
        }
    }
    match (args, errors.finish(), f.body) {
        (Some(args), Ok(()), Some(body)) => {
            let private = crate::krate::private(args.krate.as_ref());
            let labels = label_code(&args, &private, &site_function(&args, &f.name));
            let extras = bare_extras(&args, &labels, &private, &f.name);
            if extras.is_empty() {
                return item;
            }
            let head = f.head;
            quote! {
                #(#head)* {
                    #extras
                    #body
                }
            }
        }
        (_, result, _) => {
            let error = result.err().map(|e| e.to_compile_error());
            quote!(#error #item)
        }
    }
}

/// The item is not a function, or a function whose body does not parse yet (mid-edit): in the second
/// case the compiler's own syntax error is the useful one, so the item passes through untouched.
fn not_a_function(item: TokenStream, mode: Mode) -> TokenStream {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(_)) | Err(_) => item,
        Ok(other) => {
            let what = describe_non_fn(&item);
            let span = other
                .to_token_stream()
                .into_iter()
                .next()
                .map(|t| t.span())
                .unwrap_or_else(Span::call_site);
            let error = syn::Error::new(
                span,
                format!("{} goes on a function, not on {what}", mode.attribute()),
            )
            .to_compile_error();
            quote!(#error #item)
        }
    }
}

struct Expansion<'a> {
    args: &'a ObserveArgs,
    f: &'a ObservedFn,
    labels: LabelCode,
    /// `::sightline::__private`, or `<crate = path>::__private`.
    private: TokenStream,
}

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

impl<'a> Expansion<'a> {
    fn new(args: &'a ObserveArgs, f: &'a ObservedFn) -> Self {
        let private = crate::krate::private(args.krate.as_ref());
        Expansion {
            args,
            f,
            labels: label_code(args, &private, &site_function(args, &f.sig.ident)),
            private,
        }
    }

    fn is_handler(&self) -> bool {
        self.args.route.is_some()
    }

    fn function(&self, item: &TokenStream) -> TokenStream {
        let ObservedFn {
            attrs,
            vis,
            defaultness,
            sig,
            body,
        } = self.f;
        let Body::Block { inner_attrs, block } = body else {
            unreachable!("`check` refuses functions without a body")
        };
        let future = future_return(&sig.output).filter(|_| sig.asyncness.is_none());
        let site_items = self.site_items(sig.asyncness.is_none() && future.is_none());
        let new_body = if sig.asyncness.is_some() {
            let inner = quote!(async move #block);
            self.async_body(inner, self.output_type())
        } else if let Some(AsyncTraitPin { rest, func, future }) = async_trait_body(block) {
            // `#[async_trait]` expanded first: instrument the boxed future, not its construction.
            let observed = self.async_body(future.to_token_stream(), quote!(_));
            quote!(#(#rest)* #func(async move { #observed }))
        } else if let Some(future) = &future {
            self.future_body(block, future)
        } else {
            self.sync_body(block)
        };
        let bare = match body_tokens(item) {
            Some(body) => self.bare_body(&body),
            None => quote!(#block),
        };
        let p = &self.private;
        // Both bodies, and the runtime's selector picks one: the kill switch is a cfg of the runtime crate.
        quote! {
            #(#attrs)*
            #vis #defaultness #sig {
                #(#inner_attrs)*
                #p::select_body!({ #site_items #new_body } { #bare })
            }
        }
    }

    /// The body under the kill switch: the function's own body, after `bare_extras`.
    fn bare_body(&self, body: &proc_macro2::Group) -> TokenStream {
        let extras = bare_extras(self.args, &self.labels, &self.private, &self.f.sig.ident);
        quote!(#extras #body)
    }

    /// The site's objective (`Option<ObjectiveDef>`) and, for a shared one, its compile-time check.
    fn objective(&self) -> (TokenStream, TokenStream) {
        objective(self.args, &self.private, &self.f.sig.ident)
    }

    /// The call site's `static`, listed at link time.
    fn site_items(&self, sync_body: bool) -> TokenStream {
        let p = &self.private;
        let fn_name = self.f.sig.ident.unraw().to_string();
        let has_self = self.f.sig.receiver().is_some();
        let function = match (&self.args.name, has_self) {
            (Some(name), _) => quote!(::core::option::Option::Some(#name)),
            (None, true) => quote!(::core::option::Option::None),
            (None, false) => quote!(::core::option::Option::Some(#fn_name)),
        };
        let buckets = match &self.args.buckets {
            Some(b) => {
                let bounds = b.bounds.iter().map(|(v, _)| Literal::f64_suffixed(*v));
                quote!(&[#(#bounds),*])
            }
            None => quote!(#p::DEFAULT_BUCKETS),
        };
        let operation = operation_name(self.args, &self.f.sig.ident);
        let kind = match (&self.args.route, &self.args.method) {
            _ if self.args.mode == Mode::Business => quote! {
                #p::SiteKind::Business { operation: #operation, buckets: #buckets }
            },
            (Some(route), Some(method)) => quote! {
                #p::SiteKind::Handler { method: #method, route: #route, buckets: #buckets }
            },
            _ => quote!(#p::SiteKind::Function { buckets: #buckets }),
        };
        let metrics = self.args.skip_metrics.is_none();
        let lines = self.lines();
        let fields = self.args.fields.iter().map(|f| f.name.text());
        let redacted = self.args.redact.iter().map(|f| f.name.text());
        let custom = &self.labels.meta;
        let label_items = &self.labels.items;
        let (objective, objective_check) = self.objective();
        let span_kind = self.args.kind.map(|(kind, _)| kind).unwrap_or_default();
        quote! {
            #p::site!(__SL_SITE, {
                function: #function,
                fn_name: #fn_name,
                module: ::core::module_path!(),
                kind: #kind,
                custom: #custom,
                objective: #objective,
                metrics: #metrics,
                sync_body: #sync_body,
                span_kind: #p::SpanRole::#span_kind,
                lines: #lines,
                fields: &[#(#fields),*],
                redacted: &[#(#redacted),*],
            });
            #label_items
            #objective_check
        }
    }

    /// Which completion lines the site writes, as `Lines`.
    fn lines(&self) -> TokenStream {
        let p = &self.private;
        let log = self.args.log_mode();
        let success = if log.writes_success() {
            let level = self.args.success_level();
            quote!(::core::option::Option::Some(#p::tracing::Level::#level))
        } else {
            quote!(::core::option::Option::None)
        };
        let failures = log.writes_failures();
        quote!(#p::Lines { success: #success, failures: #failures })
    }

    /// The return type, where it can be written (not `impl Trait`), else `_`.
    fn output_type(&self) -> TokenStream {
        match &self.f.sig.output {
            ReturnType::Default => quote!(()),
            ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => quote!(#ty),
            ReturnType::Type(..) => quote!(_),
        }
    }

    /// `: ReturnType` for a `let` holding the body's value, when the type can be written there (not
    /// `impl Trait`).
    fn ret_annotation(&self) -> TokenStream {
        match &self.f.sig.output {
            ReturnType::Default => quote!(: ()),
            ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => quote!(: #ty),
            ReturnType::Type(..) => quote!(),
        }
    }

    /// `let guard = __SL_SITE.start(..)` (which names methods after `Self` on the first call), then the
    /// call's `fields(..)`, evaluated only when the call has a span.
    fn start_call(&self) -> TokenStream {
        let p = &self.private;
        let guard = local("__sl_guard");
        let self_type = if self.f.sig.receiver().is_some() && self.args.name.is_none() {
            quote! {
                ::core::option::Option::Some(
                    ::core::any::type_name::<Self> as fn() -> &'static ::core::primitive::str
                )
            }
        } else {
            quote!(::core::option::Option::None)
        };
        let values = &self.labels.values;
        let labels = &self.labels.prologue;
        let fields = self.args.fields.iter().enumerate().map(|(i, f)| {
            let value = &f.value;
            quote!(#guard.field(#i, (&&&#p::probe::Probe(&(#value))).__sl_field());)
        });
        let fields = (!self.args.fields.is_empty()).then(|| {
            quote! {
                if #guard.has_span() {
                    #[allow(unused_imports)]
                    use #p::probe::{FieldDebug as _, FieldDisplay as _, FieldValue as _};
                    #(#fields)*
                }
            }
        });
        // A redacted value is never evaluated, but it is type-checked and counts as used, so a typo is
        // an error and the field it reads is not reported as dead code.
        let redacted = self.args.redact.iter().map(|f| &f.value);
        let redacted = (!self.args.redact.is_empty()).then(|| {
            quote! {
                if false {
                    #(let _ = &(#redacted);)*
                }
            }
        });
        quote! {
            #labels
            let #guard = __SL_SITE.start(#self_type, #values);
            #fields
            #redacted
        }
    }

    /// The outcome of the value `r` (a reference to the return value) points at, as an `Outcome`: its
    /// type is probed at the call site, by the runtime's `outcome!`.
    fn outcome(&self, r: &Ident) -> TokenStream {
        let p = &self.private;
        if self.is_handler() {
            quote!(#p::outcome!(#r, status))
        } else {
            quote!(#p::outcome!(#r))
        }
    }

    /// The outcome as a closure, for the futures that hold it as a function pointer.
    fn outcome_fn(&self) -> TokenStream {
        let r = local("__sl_r");
        let outcome = self.outcome(&r);
        quote!(|#r| #outcome)
    }

    fn sync_body(&self, block: &Block) -> TokenStream {
        let guard = local("__sl_guard");
        let value = local("__sl_value");
        let r = local("__sl_r");
        let label = syn::Lifetime::new("'__sl_body", Span::mixed_site());
        let start = self.start_call();
        let mut block = block.clone();
        let leave = |value: TokenStream| quote!(break #label #value);
        let mut exits = Exits {
            private: &self.private,
            leave: &leave,
            rewritten: 0,
        };
        exits.visit_block_mut(&mut block);
        let labelled = if exits.rewritten > 0 {
            quote!(#label: #block)
        } else {
            quote!(#block)
        };
        let annotation = self.ret_annotation();
        let not_a_future = self.not_a_future(&value);
        let outcome = self.outcome(&r);
        // The body is bound first (typed by the return type, so inference inside it is unchanged), and
        // only the generated tail is exempt from `unreachable_code`: a body that always panics must not
        // warn about sightline's code, and the user's own unreachable code must still warn.
        quote! {
            #start
            #guard.enter();
            // A body that always panics is a diverging sub-expression of this `let` only because of
            // the expansion; written by hand it is the function's tail.
            #[allow(clippy::diverging_sub_expression)]
            let #value #annotation = #labelled;
            #[allow(unreachable_code)]
            {
                #not_a_future
                let #r = &#value;
                #guard.complete(#outcome);
                #value
            }
        }
    }

    /// Refuses, at the return type, a sync body whose value is a future the signature does not show
    /// (`-> MyFuture`): the call would be timed when the future is made and its error counted as `ok`.
    fn not_a_future(&self, value: &Ident) -> TokenStream {
        let output = &self.f.sig.output;
        if surely_not_a_future(output) {
            return quote!();
        }
        let p = &self.private;
        let at = match output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => Span::call_site(),
        };
        let at = Span::mixed_site().located_at(at);
        quote_spanned! {at=>
            #[allow(unused_imports)]
            use #p::probe::{ValueIsFuture as _, ValueNotFuture as _};
            #p::probe::SyncReturn::__sl_sync_return((&&#p::probe::Probe(&#value)).__sl_future());
        }
    }

    /// A non-`async` function whose signature returns a future: the call starts when the function is
    /// called (in-flight, clock, span, entered while the future is made) and ends when the future it
    /// returns completes, is dropped, or panics. Every exit hands its future to an `ObservedFuture`.
    fn future_body(&self, block: &Block, future: &FutureReturn<'_>) -> TokenStream {
        let guard = local("__sl_guard");
        let start = self.start_call();
        let wrap = |value: TokenStream| self.observed_future(value, future);
        let leave = |value: TokenStream| {
            let wrapped = wrap(value);
            quote!(return #wrapped)
        };
        let mut block = block.clone();
        let mut exits = Exits {
            private: &self.private,
            leave: &leave,
            rewritten: 0,
        };
        exits.visit_block_mut(&mut block);
        if let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() {
            *tail = Expr::Verbatim(wrap(tail.to_token_stream()));
        }
        quote! {
            #start
            #guard.enter();
            #block
        }
    }

    /// `value`, a future the body returns, instrumented (and boxed again, for a boxed return type).
    fn observed_future(&self, value: TokenStream, future: &FutureReturn<'_>) -> TokenStream {
        let p = &self.private;
        let guard = local("__sl_guard");
        let outcome = self.outcome_fn();
        let output = match future.output {
            Some(ty) => ty.to_token_stream(),
            None => quote!(_),
        };
        let observed = |inner: TokenStream| quote!(#p::ObservedFuture::<_>::new_with::<#output>(#inner, #guard, #outcome));
        match future.kind {
            FutureKind::Impl => observed(value),
            FutureKind::Boxed => match box_pin_argument(&value) {
                // `Box::pin(future)`: the future goes inside the one box.
                Some(inner) => {
                    let observed = observed(inner);
                    quote!(::std::boxed::Box::pin(#observed))
                }
                None => {
                    let boxed = local("__sl_boxed");
                    let ReturnType::Type(_, ty) = &self.f.sig.output else {
                        unreachable!("a boxed future is a return type")
                    };
                    let observed = observed(quote!(#boxed));
                    quote!({
                        let #boxed: #ty = #value;
                        ::std::boxed::Box::pin(#observed)
                    })
                }
            },
        }
    }

    /// An async body: `inner` is a future expression (`async move { .. }`) whose output, of type
    /// `output`, is the return value. The call starts on the first poll (an `async fn`'s body runs only
    /// then); its future enters the span on every poll, records the output, and, dropped first, a
    /// cancellation or a panic.
    fn async_body(&self, inner: TokenStream, output: TokenStream) -> TokenStream {
        let p = &self.private;
        let guard = local("__sl_guard");
        let start = self.start_call();
        let outcome = self.outcome_fn();
        quote! {
            #start
            #p::ObservedFuture::<_>::new_with::<#output>(#inner, #guard, #outcome).await
        }
    }
}

/// A business span's operation: the literal, or the function's name in kebab case.
fn operation_name(args: &ObserveArgs, ident: &Ident) -> String {
    match &args.operation {
        Some(name) => name.value(),
        None => ident.unraw().to_string().replace('_', "-"),
    }
}

/// The site's `function` label: `name = ..`, else the operation's name, else the function's.
fn site_function(args: &ObserveArgs, ident: &Ident) -> String {
    match (&args.name, args.mode) {
        (Some(name), _) => name.value(),
        (None, Mode::Business) => operation_name(args, ident),
        (None, Mode::Observe) => ident.unraw().to_string(),
    }
}

/// What the kill switch keeps before the function's own body: the label items and a shared objective's
/// check, and every expression the attribute mentions, type-checked and counted as used but never
/// evaluated, so a parameter read only by `fields(..)` is not reported unused and a mistake does not
/// compile only with the switch on.
fn bare_extras(
    args: &ObserveArgs,
    labels: &LabelCode,
    private: &TokenStream,
    ident: &Ident,
) -> TokenStream {
    let values = args.fields.iter().chain(&args.redact).map(|f| &f.value);
    let unevaluated = &labels.unevaluated;
    let checks = quote!(#(let _ = &(#values);)* #unevaluated);
    let checks = (!checks.is_empty()).then(|| quote!(if false { #checks }));
    let label_items = &labels.items;
    let (_, objective_check) = objective(args, private, ident);
    quote! {
        #label_items
        #objective_check
        #checks
    }
}

/// The site's objective (`Option<ObjectiveDef>`) and, for a shared one, its compile-time check.
fn objective(
    args: &ObserveArgs,
    private: &TokenStream,
    ident: &Ident,
) -> (TokenStream, TokenStream) {
    crate::objective::meta(
        args.objective.as_ref(),
        private,
        &crate::check::site_buckets(args),
        &ident.unraw().to_string(),
    )
}

/// `x` when `value` is `Box::pin(x)`.
fn box_pin_argument(value: &TokenStream) -> Option<TokenStream> {
    let expr = syn::parse2::<Expr>(value.clone()).ok()?;
    box_pin_call(&expr).map(|call| call.args[0].to_token_stream())
}

/// `expr` as a call of `Box::pin` (however its path is written) with one argument.
fn box_pin_call(expr: &Expr) -> Option<&syn::ExprCall> {
    let Expr::Call(call) = expr else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut names = func.path.segments.iter().rev().map(|s| s.ident.to_string());
    let is_box_pin =
        names.next().as_deref() == Some("pin") && names.next().as_deref() == Some("Box");
    (is_box_pin && call.args.len() == 1).then_some(call)
}

/// `#[async_trait]` leaves a sync method whose body ends in `Box::pin(async move { .. })`.
struct AsyncTraitPin<'a> {
    /// The statements before it (none in the versions seen so far).
    rest: &'a [Stmt],
    /// `Box::pin`, as written.
    func: &'a Expr,
    /// The `async move` block: the real body.
    future: &'a syn::ExprAsync,
}

fn async_trait_body(block: &Block) -> Option<AsyncTraitPin<'_>> {
    let (last, rest) = block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    let call = box_pin_call(tail)?;
    let Some(Expr::Async(future)) = call.args.first() else {
        return None;
    };
    future.capture?;
    // A `return` before the tail would leave without the instrumented future.
    if rest.iter().any(has_return) {
        return None;
    }
    Some(AsyncTraitPin {
        rest,
        func: &call.func,
        future,
    })
}

/// Whether a statement can `return` from the function (closures, async blocks and items return from
/// themselves).
fn has_return(stmt: &Stmt) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
                Expr::Return(_) | Expr::Try(_) => self.0 = true,
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_macro(&mut self, _: &'ast syn::Macro) {
            // A macro's tokens may hide one; too rare in an `#[async_trait]` prologue to parse.
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_stmt(&mut finder, stmt);
    finder.0
}
