//! The generic action reconciler (placeholder until the reconciler lands in this change).

use std::sync::Arc;

use crate::context::Context;
use crate::resource::ControllerFn;
use crate::traits::ActionResource;

/// The controller entry point for kind `K`.
pub fn controller_fn<K: ActionResource>() -> ControllerFn {
    |_ctx: Arc<Context>| Box::pin(async { Ok(()) })
}
