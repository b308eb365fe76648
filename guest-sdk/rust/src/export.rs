//! [`export_executor!`](crate::export_executor): the one macro that turns an
//! [`Executor`](crate::Executor) type into the component's WIT exports.

/// Exports an executor type as this component's `executor` interface.
///
/// List every method with its default binding:
///
/// | binding | meaning | Jina |
/// | --- | --- | --- |
/// | `*` | catch-all: every endpoint not bound elsewhere (at most one) | `@requests` |
/// | `"/index"` | one endpoint | `@requests(on='/index')` |
/// | `["/a", "/b"]` | several endpoints | `@requests(on=['/a', '/b'])` |
/// | `[]` | no default endpoint; a flow can bind it with `uses_requests` | a method without `@requests` |
///
/// ```ignore
/// flowhost_guest::export_executor!(MyIndexer {
///     index => "/index",
///     search => ["/search", "/query"],
///     stats => [],
///     other => *,
/// });
/// ```
///
/// Each method must be an inherent method of the type with one of the shapes
/// listed at [`Method`](crate::Method). Use the macro once per crate.
///
/// Two catch-alls are a compile-time error:
///
/// ```compile_fail
/// use flowhost_guest::{DocumentArray, Executor, Metas, NoConfig, Request, Result};
///
/// struct Twice;
/// impl Executor for Twice {
///     type Config = NoConfig;
///     fn new(_: NoConfig, _: &Metas) -> Result<Self> {
///         Ok(Self)
///     }
/// }
/// impl Twice {
///     fn a(&mut self, _: &DocumentArray, _: &Request) -> Result<()> {
///         Ok(())
///     }
///     fn b(&mut self, _: &DocumentArray, _: &Request) -> Result<()> {
///         Ok(())
///     }
/// }
/// flowhost_guest::export_executor!(Twice { a => *, b => * });
/// ```
#[macro_export]
macro_rules! export_executor {
    ($ty:ty { $($method:ident => $binding:tt),+ $(,)? }) => {
        const _: () = {
            ::core::assert!(
                0 $(+ $crate::__flowhost_is_catch_all!($binding) as usize)+ <= 1,
                "export_executor!: at most one method can be the catch-all (`*`)",
            );

            struct __FlowhostExecutorExport;

            ::std::thread_local! {
                static __FLOWHOST_INSTANCE: ::core::cell::RefCell<
                    ::core::option::Option<$crate::__private::Instance<$ty>>,
                > = const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            fn __flowhost_dispatch(
                method: &str,
                exec: &mut $ty,
                docs: $crate::DocumentArray,
                req: &$crate::Request<'_>,
            ) -> ::core::option::Option<$crate::Result<$crate::Reply>> {
                match method {
                    $(
                        ::core::stringify!($method) => ::core::option::Option::Some(
                            $crate::__private::invoke(<$ty>::$method, exec, docs, req),
                        ),
                    )+
                    _ => ::core::option::Option::None,
                }
            }

            impl $crate::__private::Guest for __FlowhostExecutorExport {
                fn init(
                    uses_with: ::std::string::String,
                    metas: $crate::wit::Metas,
                ) -> ::core::result::Result<(), $crate::wit::ExecutorError> {
                    $crate::__private::guest_init::<$ty>(&__FLOWHOST_INSTANCE, uses_with, metas)
                }

                fn describe() -> $crate::wit::Description {
                    let mut catch_all = ::core::option::Option::None;
                    $(
                        if $crate::__flowhost_is_catch_all!($binding) {
                            catch_all = ::core::option::Option::Some(::core::stringify!($method));
                        }
                    )+
                    $crate::__private::describe(
                        &[$((
                            ::core::stringify!($method),
                            $crate::__flowhost_endpoints!($binding),
                        )),+],
                        catch_all,
                    )
                }

                fn call(
                    method: ::std::string::String,
                    endpoint: ::std::string::String,
                    docs: $crate::wit::DocumentBatch,
                    parameters: ::std::string::String,
                ) -> ::core::result::Result<$crate::wit::Output, $crate::wit::ExecutorError> {
                    $crate::__private::guest_call(
                        &__FLOWHOST_INSTANCE,
                        __flowhost_dispatch,
                        method,
                        endpoint,
                        docs,
                        parameters,
                    )
                }
            }

            $crate::bindings::export!(__FlowhostExecutorExport with_types_in $crate::bindings);
        };
    };
}

/// The endpoints of one binding in [`export_executor!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __flowhost_endpoints {
    (*) => {
        (&[] as &[&str])
    };
    ([$($endpoint:literal),* $(,)?]) => {
        (&[$($endpoint),*] as &[&str])
    };
    ($endpoint:literal) => {
        (&[$endpoint] as &[&str])
    };
}

/// Whether one binding in [`export_executor!`] is the catch-all.
#[doc(hidden)]
#[macro_export]
macro_rules! __flowhost_is_catch_all {
    (*) => {
        true
    };
    ([$($endpoint:literal),* $(,)?]) => {
        false
    };
    ($endpoint:literal) => {
        false
    };
}
