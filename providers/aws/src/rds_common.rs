//! Shared by the RDS types: tags (read with `ListTagsForResource`, changed with
//! `AddTagsToResource` / `RemoveTagsFromResource`).

use aws_sdk_rds::types::Tag;
use plinth_provider::ProviderError;

use crate::clients::Clients;
use crate::errors::map_sdk;
use crate::tags;

/// The tags of an RDS resource by ARN.
pub async fn rds_tags(
    clients: &Clients,
    arn: &str,
) -> Result<Vec<(String, String)>, ProviderError> {
    let out = clients
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| map_sdk("ListTagsForResource", e))?;
    Ok(tags::pairs(
        out.tag_list().iter().map(|t| (t.key(), t.value())),
    ))
}

/// Brings an RDS resource's tags from `live` to `desired`.
pub async fn sync_rds_tags(
    clients: &Clients,
    arn: &str,
    live: &[(String, String)],
    desired: &[(String, String)],
) -> Result<(), ProviderError> {
    let (set, remove) = tags::diff(live, desired);
    if !remove.is_empty() {
        clients
            .rds
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| map_sdk("RemoveTagsFromResource", e))?;
    }
    if !set.is_empty() {
        clients
            .rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(aws_tags(&set)))
            .send()
            .await
            .map_err(|e| map_sdk("AddTagsToResource", e))?;
    }
    Ok(())
}

/// Pairs as RDS tags.
pub fn aws_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
