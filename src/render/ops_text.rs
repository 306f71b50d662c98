//! Output of `plinth render` (manifests) and `plinth rollback` (its outcome).

use super::apply_text::format_duration;
use super::Style;
use crate::ops::manifests::RenderedRelease;
use crate::ops::rollback::RollbackResult;

/// Every release's YAML stream, each introduced by a comment naming it.
pub fn render_manifests(releases: &[RenderedRelease]) -> String {
    let mut out = String::new();
    for release in releases {
        out.push_str(&format!(
            "# {} (revision {} if applied now)\n",
            release.address, release.revision
        ));
        out.push_str(&release.yaml);
    }
    out
}

/// The closing line of a rollback.
pub fn render_rollback(result: &RollbackResult, style: Style) -> String {
    format!(
        "{} {} is at revision {} (revision {} re-applied, image {}; was revision {}). ({})\n\
         The stack still describes the newer release: the next `plinth plan` shows the way back.\n",
        style.green("Rollback complete!"),
        result.address,
        result.new_revision,
        result.restored_revision,
        result.image,
        result.from_revision,
        format_duration(result.elapsed)
    )
}
