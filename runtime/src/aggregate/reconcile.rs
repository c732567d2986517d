//! The aggregate reconciler (placeholder until the reconciler lands in this change).

use std::sync::Arc;

use crate::context::Context;
use crate::resource::ControllerFn;
use crate::traits::AggregateResource;

/// The controller entry point for kind `K`.
pub fn controller_fn<K: AggregateResource>() -> ControllerFn {
    |_ctx: Arc<Context>| Box::pin(async { Ok(()) })
}
