//! Race-safe finalizer patches (JSON patch with `test` ops, as in kube-runtime's `finalizer.rs`).
//!
//! Unlike `kube::runtime::finalizer`, which adds the finalizer before the first apply, the resource
//! reconciler adds it only after it created a backend object (see [`crate::resource`]).

use std::str::FromStr;

use json_patch::{AddOperation, PatchOperation, RemoveOperation, TestOperation, jsonptr::PointerBuf};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tracing::info;

use crate::error::{Error, Result};
use crate::traits::RestResource;

fn pointer(path: &str) -> Result<PointerBuf> {
    PointerBuf::from_str(path).map_err(|e| Error::bad_spec("metadata.finalizers", e.to_string()))
}

/// Adds `finalizer` to `obj`, race-safely: the patch fails (422) instead of clobbering a concurrent
/// change, and the caller retries.
///
/// With finalizers present, a `test` of the whole list guards the append (as kube-runtime does).
/// With none, the guard is a `test` of `metadata.resourceVersion` (`resource_version`: the version
/// the caller last wrote or read) rather than kube-runtime's `test null` on the absent list, which
/// strict RFC 6902 implementations reject.
///
/// # Errors
///
/// [`Error::Kube`] when the patch fails.
pub async fn add<K: RestResource>(
    api: &Api<K>,
    obj: &K,
    finalizer: &str,
    resource_version: Option<&str>,
) -> Result<()> {
    let ops = match (obj.finalizers().is_empty(), resource_version) {
        (true, version) => version
            .map(|v| {
                Ok::<_, Error>(PatchOperation::Test(TestOperation {
                    path: pointer("/metadata/resourceVersion")?,
                    value: v.into(),
                }))
            })
            .transpose()?
            .into_iter()
            .chain([PatchOperation::Add(AddOperation {
                path: pointer("/metadata/finalizers")?,
                value: vec![finalizer].into(),
            })])
            .collect(),
        (false, _) => vec![
            PatchOperation::Test(TestOperation {
                path: pointer("/metadata/finalizers")?,
                value: obj.finalizers().into(),
            }),
            PatchOperation::Add(AddOperation {
                path: pointer("/metadata/finalizers/-")?,
                value: finalizer.into(),
            }),
        ],
    };
    info!(finalizer, "adding finalizer");
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(json_patch::Patch(ops)),
    )
    .await
    .map_err(|source| Error::Kube {
        action: "add finalizer",
        source,
    })?;
    Ok(())
}

/// Removes `finalizer`, expected at `index` of `obj`'s finalizers; the `test` op makes the patch fail
/// instead of removing someone else's finalizer if the list changed meanwhile.
///
/// # Errors
///
/// [`Error::Kube`] when the patch fails.
pub async fn remove<K: RestResource>(api: &Api<K>, obj: &K, finalizer: &str, index: usize) -> Result<()> {
    let path = format!("/metadata/finalizers/{index}");
    let patch = json_patch::Patch(vec![
        PatchOperation::Test(TestOperation {
            path: pointer(&path)?,
            value: finalizer.into(),
        }),
        PatchOperation::Remove(RemoveOperation {
            path: pointer(&path)?,
        }),
    ]);
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await
    .map_err(|source| Error::Kube {
        action: "remove finalizer",
        source,
    })?;
    Ok(())
}
