//! Shared by the ElastiCache types: tags (the describes do not carry them).

use aws_sdk_elasticache::types::Tag;
use plinth_provider::ProviderError;

use crate::clients::Clients;
use crate::errors::map_sdk;
use crate::tags;

/// The tags of an ElastiCache resource by ARN.
pub async fn cache_tags(
    clients: &Clients,
    arn: &str,
) -> Result<Vec<(String, String)>, ProviderError> {
    let out = clients
        .elasticache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| map_sdk("ListTagsForResource", e))?;
    Ok(tags::pairs(
        out.tag_list().iter().map(|t| (t.key(), t.value())),
    ))
}

/// Brings an ElastiCache resource's tags to `desired`.
pub async fn sync_cache_tags(
    clients: &Clients,
    arn: &str,
    desired: &[(String, String)],
) -> Result<(), ProviderError> {
    let (set, remove) = tags::diff(&cache_tags(clients, arn).await?, desired);
    if !remove.is_empty() {
        clients
            .elasticache
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| map_sdk("RemoveTagsFromResource", e))?;
    }
    if !set.is_empty() {
        clients
            .elasticache
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(aws_tags(&set)))
            .send()
            .await
            .map_err(|e| map_sdk("AddTagsToResource", e))?;
    }
    Ok(())
}

/// Pairs as ElastiCache tags.
pub fn aws_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
