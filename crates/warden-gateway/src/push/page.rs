//! Pages of a caller's push configs for one task: the v1.0
//! `ListTaskPushNotificationConfigs` with `pageSize` and `pageToken`
//! (v0.3 has no paging: its list is one array).
//!
//! Configs are listed oldest first (as agents list them). Without
//! `pageSize` every config is on one page, as before. With it, at most that
//! many, and `nextPageToken` when more follow: an opaque cursor (base64url
//! of the last config's creation time and subscription id), so a config
//! added or replaced between two pages neither repeats one nor skips one
//! that was already there. The cursor is not a secret and opens nothing:
//! it only positions the next page among the caller's own configs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden_store::PushSubscription;

/// The most configs on one page (as the requests' validation has it).
const MAX_PAGE: usize = 100;

/// A `pageToken` this gateway did not give.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("pageToken is not one this gateway gave")]
pub struct BadToken;

/// One page of `subs` (oldest first), and the token of the next when more
/// follow. An empty token is the first page.
pub fn page(
    mut subs: Vec<PushSubscription>,
    size: Option<i32>,
    token: Option<&str>,
) -> Result<(Vec<PushSubscription>, Option<String>), BadToken> {
    subs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        let (at, id) = read(t).ok_or(BadToken)?;
        subs.retain(|s| (s.created_ms, s.id.as_str()) > (at, id.as_str()));
    }
    let Some(size) = size else {
        return Ok((subs, None));
    };
    let size = usize::try_from(size).unwrap_or(1).clamp(1, MAX_PAGE);
    if subs.len() <= size {
        return Ok((subs, None));
    }
    subs.truncate(size);
    let next = subs.last().map(write);
    Ok((subs, next))
}

fn write(s: &PushSubscription) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", s.created_ms, s.id))
}

fn read(token: &str) -> Option<(i64, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once(':')?;
    Some((at.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, created_ms: i64) -> PushSubscription {
        PushSubscription {
            id: id.into(),
            agent: "a".into(),
            owner: "o".into(),
            task_id: Some("t".into()),
            config_id: id.into(),
            url: "https://hooks.example.com/".into(),
            config: "{}".into(),
            sealed: Vec::new(),
            relay_hash: Vec::new(),
            created_ms,
        }
    }

    fn ids(subs: &[PushSubscription]) -> Vec<&str> {
        subs.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn pages_follow_each_other_oldest_first_until_none_is_left() {
        let all = vec![
            sub("c", 3),
            sub("a", 1),
            sub("b2", 2),
            sub("b1", 2),
            sub("d", 4),
        ];
        let (one, next) = page(all.clone(), None, None).expect("all");
        assert_eq!((ids(&one), next), (vec!["a", "b1", "b2", "c", "d"], None));

        let (first, next) = page(all.clone(), Some(2), Some("")).expect("first");
        assert_eq!(ids(&first), ["a", "b1"]);
        let next = next.expect("more");
        let (second, next) = page(all.clone(), Some(2), Some(&next)).expect("second");
        assert_eq!(ids(&second), ["b2", "c"]);
        // A config added meanwhile (the newest) comes on a later page.
        let mut more = all.clone();
        more.push(sub("e", 5));
        let (last, next) = page(more, Some(2), next.as_deref()).expect("last");
        assert_eq!((ids(&last), next), (vec!["d", "e"], None));
    }

    #[test]
    fn a_token_it_did_not_give_is_refused() {
        for bad in ["%%%", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("x:sub")] {
            assert_eq!(
                page(vec![sub("a", 1)], Some(1), Some(bad)),
                Err(BadToken),
                "{bad}"
            );
        }
    }
}
