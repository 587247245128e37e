//! Code generation for `#[observe]`, from a checked [`ObserveArgs`] and the function. Reads no tokens of
//! its own: everything it knows comes from the parsed model.
//!
//! The function keeps its signature and attributes. Its body becomes (unless the runtime is built with
//! `--cfg sightline_disable`, the kill switch: then the function's own statements, see `bare_body`):
//! - a `static` call site (the metric children, resolved on the first call) and the site's `emit`
//!   function, which writes the completion line at the site's own target and level;
//! - a `tracing` span, entered for a sync body, or entered on every poll of an async body;
//! - a guard that records the call once: at each exit with the return value, or on drop as a panic or a
//!   cancellation.
//!
//! Generated locals use `Span::mixed_site()`, so the user's body can neither see nor shadow them.

use crate::arguments::Mode;
use crate::attr::{FieldArg, ObserveArgs};
use crate::check;
use crate::exits::{mentions_impl_trait, Exits};
use crate::item::{describe_non_fn, Body, ObservedFn};
use crate::labels::{label_code, LabelCode};
use crate::log_options::Level;
use crate::returns::{future_return, surely_not_a_future, FutureKind, FutureReturn};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ReturnType, Stmt};

pub(crate) fn expand(args: TokenStream, item: TokenStream, mode: Mode) -> TokenStream {
    let f = match syn::parse2::<ObservedFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => return not_a_function(item, mode),
    };
    // Every mistake at once: what the parse found, and what the checks find in whatever parsed.
    let (args, mut errors) = ObserveArgs::parse(args, mode);
    if let Some(args) = &args {
        if let Err(e) = check::check(args, &f) {
            errors.add(e);
        }
    }
    match (args, errors.finish()) {
        (Some(args), Ok(())) => Expansion::new(&args, &f).function(),
        (_, result) => {
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
        let function = match (&args.name, args.mode) {
            (Some(name), _) => name.value(),
            (None, Mode::Business) => operation_name(args, f),
            (None, Mode::Observe) => f.sig.ident.unraw().to_string(),
        };
        Expansion {
            args,
            f,
            labels: label_code(args, &private, &function),
            private,
        }
    }

    fn is_handler(&self) -> bool {
        self.args.route.is_some()
    }

    fn function(&self) -> TokenStream {
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
            self.async_body(inner, self.ret_annotation())
        } else if let Some(AsyncTraitPin { rest, func, future }) = async_trait_body(block) {
            // `#[async_trait]` expanded first: instrument the boxed future, not its construction.
            let observed = self.async_body(future.to_token_stream(), quote!());
            quote!(#(#rest)* #func(async move { #observed }))
        } else if let Some(future) = &future {
            self.future_body(block, future)
        } else {
            self.sync_body(block)
        };
        let bare = self.bare_body(block);
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

    /// The body under the kill switch: the function's own statements. Every expression the attribute
    /// mentions is still type-checked and counts as used, but is never evaluated, so a parameter read only
    /// by `fields(..)` is not reported unused and a mistake does not compile only with the switch on.
    fn bare_body(&self, block: &Block) -> TokenStream {
        let values = self
            .args
            .fields
            .iter()
            .chain(&self.args.redact)
            .map(|f| &f.value);
        let labels = &self.labels.unevaluated;
        let checks = quote!(#(let _ = &(#values);)* #labels);
        let checks = (!checks.is_empty()).then(|| quote!(if false { #checks }));
        let label_items = &self.labels.items;
        let (_, objective_check) = self.objective();
        let stmts = &block.stmts;
        quote! {
            #label_items
            #objective_check
            #checks
            #(#stmts)*
        }
    }

    /// The site's objective (`Option<ObjectiveDef>`) and, for a shared one, its compile-time check.
    fn objective(&self) -> (TokenStream, TokenStream) {
        crate::objective::meta(
            self.args.objective.as_ref(),
            &self.private,
            &crate::check::site_buckets(self.args),
            &self.f.sig.ident.unraw().to_string(),
        )
    }

    /// The call site's `static` and its `emit` function.
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
        let operation = operation_name(self.args, self.f);
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
        let emit = self.emit_fn();
        let line_level = self.line_level();
        let custom = &self.labels.meta;
        let label_items = &self.labels.items;
        let (objective, objective_check) = self.objective();
        quote! {
            static __SL_SITE: #p::Site = #p::Site::new(#p::SiteMeta {
                function: #function,
                fn_name: #fn_name,
                module: ::core::module_path!(),
                kind: #kind,
                custom: #custom,
                objective: #objective,
                metrics: #metrics,
                sync_body: #sync_body,
                emit: __sl_emit,
                line_level: #line_level,
            });
            // Listed at link time, so `install()` and `catalog()` know every site before it runs.
            #[#p::linkme::distributed_slice(#p::SITES)]
            #[linkme(crate = #p::linkme)]
            static __SL_CATALOG_ENTRY: &#p::Site = &__SL_SITE;
            #emit
            #label_items
            #objective_check
        }
    }

    /// The most verbose level of the site's completion lines, as `Option<Level>`.
    fn line_level(&self) -> TokenStream {
        let p = &self.private;
        let log = self.args.log_mode();
        let mut used: Vec<Level> = Vec::new();
        if log.writes_success() {
            used.extend([self.args.success_level(), Level::Info]);
        }
        if log.writes_failures() {
            // `warn`: an expected outcome's line, and a handler's 4xx.
            used.extend([Level::Error, Level::Warn]);
        }
        match used.into_iter().min() {
            Some(level) => quote!(::core::option::Option::Some(#p::tracing::Level::#level)),
            None => quote!(::core::option::Option::None),
        }
    }

    /// `fn __sl_emit(&Completion)`: the completion line, one `tracing` event per outcome so that each has
    /// its own static level and fields, at the user's module as target.
    fn emit_fn(&self) -> TokenStream {
        let p = &self.private;
        let c = local("__sl_c");
        let log = self.args.log_mode();
        let http = if self.is_handler() {
            quote!(method = #c.method(), route = #c.route(), status_code = #c.status_code(),)
        } else {
            quote!()
        };
        let identity = match self.args.mode {
            Mode::Observe => quote! {
                function = #c.function,
                module = #c.module,
                result = #c.result_str(),
            },
            Mode::Business => quote! {
                operation = #c.operation,
                outcome = #c.result_str(),
            },
        };
        let event = |level: Level, extra: TokenStream| {
            quote! {
                #p::tracing::event!(
                    name: #p::COMPLETION_EVENT,
                    target: ::core::module_path!(),
                    #p::tracing::Level::#level,
                    #identity
                    duration_ms = #c.duration_ms,
                    #http
                    #extra
                )
            }
        };
        let error_fields = quote!(error_kind = #c.error_kind_str(), error = %#c.error_display(),);
        let ok = log
            .writes_success()
            .then(|| event(self.args.success_level(), quote!()));
        let cancelled = log.writes_success().then(|| event(Level::Info, quote!()));
        let failed = log
            .writes_failures()
            .then(|| event(Level::Error, error_fields.clone()));
        // An expected outcome (a declined card): worth a `warn` with its kind, not an error.
        let expected = log
            .writes_failures()
            .then(|| event(Level::Warn, error_fields.clone()));
        // Handler mode: a 4xx is not a failure of the service, but it is worth a `warn` with its kind.
        let client_error = (self.is_handler() && log.writes_failures()).then(|| {
            let line = event(Level::Warn, error_fields);
            quote!(#p::CompletionResult::Ok if #c.status_code() >= 400 => { #line })
        });
        quote! {
            #[allow(unused_variables, clippy::all)]
            fn __sl_emit(#c: &#p::Completion<'_>) {
                match #c.result {
                    #client_error
                    #p::CompletionResult::Ok => { #ok }
                    #p::CompletionResult::Error => { #failed }
                    #p::CompletionResult::ExpectedError => { #expected }
                    #p::CompletionResult::Cancelled => { #cancelled }
                }
            }
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

    /// `__SL_SITE.resolve(..)`, which names methods after `Self` on the first call.
    fn resolve_site(&self) -> TokenStream {
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
        quote!(__SL_SITE.resolve(#self_type, #values))
    }

    /// The span, with `code.*`, the OpenTelemetry status fields (recorded on completion) and the user's
    /// `fields(...)` and `redact(...)`.
    fn span(&self, site: &Ident) -> TokenStream {
        let p = &self.private;
        let name = match (&self.args.route, &self.args.method) {
            _ if self.args.mode == Mode::Business => operation_name(self.args, self.f),
            (Some(route), Some(method)) => format!("{} {}", method.value(), route.value()),
            _ => self.f.sig.ident.unraw().to_string(),
        };
        let empty = quote!(#p::tracing::field::Empty);
        let mut fields = vec![
            quote!(code.function = #site.function()),
            quote!(otel.status_code = #empty),
            quote!(otel.status_description = #empty),
            quote!(error.type = #empty),
        ];
        if self.args.mode == Mode::Business {
            fields.push(quote!(operation = #name));
        } else if self.f.sig.receiver().is_some() || self.args.name.is_some() {
            // The span's static name is the fn's; a method's `function` label (`PaymentRepo::save`) or a
            // `name = ..` is known only at run time, and `otel.name` is what exporters name the span by.
            fields.push(quote!(otel.name = #site.function()));
        }
        if let (Some(route), Some(method)) = (&self.args.route, &self.args.method) {
            // Read by tracing-opentelemetry only at creation: it must be declared with its value.
            fields.push(quote!(otel.kind = "server"));
            fields.push(quote!(http.request.method = #method));
            fields.push(quote!(http.route = #route));
            fields.push(quote!(http.response.status_code = #empty));
        }
        fields.extend(self.args.fields.iter().map(|f| {
            let name = field_name(f);
            let value = &f.value;
            quote!(#name = (&&&#p::probe::Probe(&(#value))).__sl_field())
        }));
        let marker = sightline_conventions::REDACTED;
        fields.extend(self.args.redact.iter().map(|f| {
            let name = field_name(f);
            quote!(#name = #marker)
        }));
        // A redacted value is never evaluated, but it is type-checked and counts as used, so a typo is
        // an error and the field it reads is not reported as dead code.
        let redacted = self.args.redact.iter().map(|f| &f.value);
        quote! {{
            #[allow(unused_imports)]
            use #p::probe::{FieldDebug as _, FieldDisplay as _, FieldValue as _};
            if false {
                #(let _ = &(#redacted);)*
            }
            #p::tracing::span!(
                target: ::core::module_path!(),
                #p::tracing::Level::INFO,
                #name,
                #(#fields),*
            )
        }}
    }

    /// The closure that probes a return value's type at the call site (see the runtime's `outcome`).
    fn outcome(&self) -> TokenStream {
        let p = &self.private;
        let r = local("__sl_r");
        let err = local("__sl_err");
        let e = local("__sl_e");
        let status = if self.is_handler() {
            quote!((&&&#p::probe::Probe(#r)).__sl_status())
        } else {
            quote!(::core::option::Option::None)
        };
        quote! {
            |#r| {
                #[allow(unused_imports)]
                use #p::probe::{
                    ErrIndex as _, ErrLabels as _, MessageBoxedError as _, MessageDebug as _,
                    MessageDisplay as _, MessageError as _, MessageOpaque as _,
                    MessageSharedError as _, NoErrIndex as _, NoErrLabels as _, NoStatus as _,
                    NotResult as _, ResultErr as _, Status as _, StatusOkSide as _,
                };
                let #err = (&&#p::probe::Probe(#r)).__sl_err();
                #p::Outcome::new(
                    (&&#p::probe::Probe(&#err)).__sl_labels(),
                    match #err {
                        ::core::option::Option::Some(#e) => ::core::option::Option::Some(
                            #p::ErrorInfo::new(
                                (&&#p::probe::Probe(#e)).__sl_index(),
                                (&&&&&&#p::probe::Probe(#e)).__sl_message(),
                            ),
                        ),
                        ::core::option::Option::None => ::core::option::Option::None,
                    },
                    #status,
                )
            }
        }
    }

    /// `finish(&guard, value, probe)`: records `value` as the call's outcome and evaluates to it.
    fn finish(&self, value: TokenStream) -> TokenStream {
        let p = &self.private;
        let guard = local("__sl_guard");
        let outcome = self.outcome();
        quote!(#p::finish(&#guard, #value, #outcome))
    }

    fn sync_body(&self, block: &Block) -> TokenStream {
        let site = local("__sl_site");
        let guard = local("__sl_guard");
        let resolve = self.resolve_site();
        let span = self.span(&site);
        let mut block = block.clone();
        let finish = |value: TokenStream| self.finish(value);
        let mut exits = Exits {
            private: &self.private,
            finish: &finish,
            rewritten: 0,
        };
        exits.visit_block_mut(&mut block);
        let value = local("__sl_value");
        let finished = self.finish(quote!(#value));
        let annotation = self.ret_annotation();
        let labels = &self.labels.prologue;
        let not_a_future = self.not_a_future(&value);
        // The body is bound first (typed by the return type, so inference inside it is unchanged), and
        // only the generated tail is exempt from `unreachable_code`: a body that always panics must not
        // warn about sightline's code, and the user's own unreachable code must still warn.
        quote! {
            #labels
            let #site = #resolve;
            let #guard = #site.enter(#span.entered());
            // A body that always panics is a diverging sub-expression of this `let` only because of
            // the expansion; written by hand it is the function's tail.
            #[allow(clippy::diverging_sub_expression)]
            let #value #annotation = #block;
            #[allow(unreachable_code)]
            {
                #not_a_future
                #finished
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
        let site = local("__sl_site");
        let span = local("__sl_span");
        let guard = local("__sl_guard");
        let entered = local("__sl_entered");
        let resolve = self.resolve_site();
        let make_span = self.span(&site);
        let labels = &self.labels.prologue;
        let wrap = |value: TokenStream| self.observed_future(value, future);
        let mut block = block.clone();
        let mut exits = Exits {
            private: &self.private,
            finish: &wrap,
            rewritten: 0,
        };
        exits.visit_block_mut(&mut block);
        if let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() {
            *tail = Expr::Verbatim(wrap(tail.to_token_stream()));
        }
        quote! {
            #labels
            let #site = #resolve;
            let #span = #make_span;
            let #guard = #site.enter(::core::clone::Clone::clone(&#span));
            let #entered = ::core::clone::Clone::clone(&#span).entered();
            #block
        }
    }

    /// `value`, a future the body returns, instrumented (and boxed again, for a boxed return type).
    fn observed_future(&self, value: TokenStream, future: &FutureReturn<'_>) -> TokenStream {
        let p = &self.private;
        let guard = local("__sl_guard");
        let span = local("__sl_span");
        let outcome = self.outcome();
        let output = match future.output {
            Some(ty) => ty.to_token_stream(),
            None => quote!(_),
        };
        let observed = |inner: TokenStream| quote!(#p::ObservedFuture::<_>::new_with::<#output>(#inner, #guard, #span, #outcome));
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

    /// An async body: `inner` is a future expression (`async move { .. }`) whose output is the return
    /// value. The guard lives inside the instrumented future, so it starts on the first poll, sees a panic
    /// as a panic, and is dropped, as a cancellation, with the future.
    fn async_body(&self, inner: TokenStream, ret_annotation: TokenStream) -> TokenStream {
        let p = &self.private;
        let site = local("__sl_site");
        let span = local("__sl_span");
        let handle = local("__sl_handle");
        let guard = local("__sl_guard");
        let ret = local("__sl_ret");
        let resolve = self.resolve_site();
        let make_span = self.span(&site);
        let finished = self.finish(quote!(#ret));
        let labels = &self.labels.prologue;
        quote! {
            #labels
            let #site = #resolve;
            let #span = #make_span;
            let #handle = ::core::clone::Clone::clone(&#span);
            #p::tracing::Instrument::instrument(
                async move {
                    let #guard = #site.enter(#handle);
                    let #ret #ret_annotation = #inner.await;
                    #finished
                },
                #span,
            )
            .await
        }
    }
}

/// A business span's operation: the literal, or the function's name in kebab case.
fn operation_name(args: &ObserveArgs, f: &ObservedFn) -> String {
    match &args.operation {
        Some(name) => name.value(),
        None => f.sig.ident.unraw().to_string().replace('_', "-"),
    }
}

fn field_name(f: &FieldArg) -> TokenStream {
    let segments = &f.name.segments;
    quote!(#(#segments).*)
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
