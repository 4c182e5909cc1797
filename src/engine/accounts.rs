//! Hub and member accounts: which registry an image lives in, decided from plain values.
//!
//! One gate runs in a hub account; member accounts forward their scan events to the hub's event
//! bus, and EventBridge keeps each event's `account` and `region`. With `MEMBER_ROLE_NAME` set,
//! an image of another account is handled in that account, through the role the gate assumes
//! there; an account that is not allowed is ignored with a reason and costs no AWS call.
//! Without `MEMBER_ROLE_NAME` the event's account is not consulted: the gate acts in its own
//! registry, as it always did.
//!
//! This module knows nothing of AWS clients: `crate::adapters::aws::member` builds the registries.

use crate::domain::image::{is_account_id, validate_region};
use std::collections::BTreeSet;
use std::fmt;

/// The role session name the gate uses in member accounts (visible in their CloudTrail).
pub const SESSION_NAME: &str = "ecr-scan-gate";

/// Which accounts the gate may act in (`MEMBER_ACCOUNTS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedAccounts {
    /// `*`: any account whose events reach the hub (the event bus policy decides who can send).
    Any,
    Only(BTreeSet<String>),
}

impl AllowedAccounts {
    pub fn allows(&self, account: &str) -> bool {
        match self {
            AllowedAccounts::Any => true,
            AllowedAccounts::Only(set) => set.contains(account),
        }
    }
}

/// The member-account settings (`MEMBER_ROLE_NAME`, `MEMBER_ROLE_EXTERNAL_ID`, `MEMBER_ACCOUNTS`).
#[derive(Clone, PartialEq, Eq)]
pub struct MemberConfig {
    /// The role's name (with its path, if any) in every member account.
    pub role_name: String,
    /// Sent with `AssumeRole`; never printed.
    pub external_id: Option<String>,
    pub accounts: AllowedAccounts,
}

impl fmt::Debug for MemberConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberConfig")
            .field("role_name", &self.role_name)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .field("accounts", &self.accounts)
            .finish()
    }
}

/// A configuration problem: the variable and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl MemberConfig {
    /// Reads the three variables through `get` (empty values count as unset). `None`: no member
    /// accounts (`MEMBER_ROLE_NAME` unset, and then the other two must be unset too).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<MemberConfig>, MemberConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let err = |variable, problem: String| MemberConfigError { variable, problem };
        let Some(role_name) = get("MEMBER_ROLE_NAME") else {
            for variable in ["MEMBER_ACCOUNTS", "MEMBER_ROLE_EXTERNAL_ID"] {
                if get(variable).is_some() {
                    return Err(err(
                        variable,
                        "is set but MEMBER_ROLE_NAME is not: set MEMBER_ROLE_NAME (the role the gate \
                         assumes in member accounts) or unset this one"
                            .to_string(),
                    ));
                }
            }
            return Ok(None);
        };
        validate_role_name(&role_name).map_err(|p| err("MEMBER_ROLE_NAME", p))?;
        let external_id = get("MEMBER_ROLE_EXTERNAL_ID");
        if let Some(id) = &external_id {
            // The value is a shared secret of sorts: the message never shows it.
            let ok = (2..=1224).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/_-".contains(&b));
            if !ok {
                return Err(err(
                    "MEMBER_ROLE_EXTERNAL_ID",
                    format!(
                        "must be 2 to 1224 characters of letters, digits and +=,.@:/_- (got {} characters; the value is not shown)",
                        id.chars().count()
                    ),
                ));
            }
        }
        let Some(list) = get("MEMBER_ACCOUNTS") else {
            return Err(err(
                "MEMBER_ACCOUNTS",
                "is required with MEMBER_ROLE_NAME: the comma-separated 12-digit account ids the \
                 gate may act in, or * for any account whose events reach it"
                    .to_string(),
            ));
        };
        let accounts = if list == "*" {
            AllowedAccounts::Any
        } else {
            let mut set = BTreeSet::new();
            for (i, entry) in list.split(',').map(str::trim).enumerate() {
                if !is_account_id(entry) {
                    return Err(err(
                        "MEMBER_ACCOUNTS",
                        format!(
                            "entry {} must be a 12-digit account id (or the whole value *), got {:?}",
                            i + 1,
                            crate::domain::image::truncate(entry, 40)
                        ),
                    ));
                }
                set.insert(entry.to_string());
            }
            AllowedAccounts::Only(set)
        };
        Ok(Some(MemberConfig {
            role_name,
            external_id,
            accounts,
        }))
    }

    /// `arn:<partition>:iam::<account>:role/<role name>`.
    pub fn role_arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:iam::{account}:role/{}", self.role_name)
    }
}

/// IAM's rule for a role name (1-64 of `\w+=,.@-`), with an optional path before it.
fn validate_role_name(name: &str) -> Result<(), String> {
    let (path, role) = match name.rsplit_once('/') {
        Some((path, role)) => (Some(path), role),
        None => (None, name),
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    let path_ok = path.is_none_or(|p| p.len() <= 511 && p.split('/').all(word));
    if role.len() > 64 || !word(role) || !path_ok {
        return Err(format!(
            "must be an IAM role name (1 to 64 letters, digits and +=,.@_-, optionally after a \
             path like team/), got {:?}",
            crate::domain::image::truncate(name, 80)
        ));
    }
    Ok(())
}

/// Where the function itself runs, from its invoked function ARN
/// (`arn:aws:lambda:us-east-1:123456789012:function:ecr-scan-gate`). No AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub partition: String,
    pub account: String,
    pub region: String,
}

impl Home {
    pub fn from_function_arn(arn: &str) -> Result<Home, String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        let bad = || {
            format!(
                "the invoked function ARN {:?} is not a Lambda function ARN \
                 (arn:<partition>:lambda:<region>:<account>:function:<name>)",
                crate::domain::image::truncate(arn, 200)
            )
        };
        match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", _name]
                if !partition.is_empty()
                    && partition
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-')
                    && is_account_id(account)
                    && validate_region(region).is_ok() =>
            {
                Ok(Home {
                    partition: partition.to_string(),
                    account: account.to_string(),
                    region: region.to_string(),
                })
            }
            _ => Err(bad()),
        }
    }
}

/// Which registry an image lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The function's own account, with its own credentials; `region` is the image's (the
    /// function's own region, or another one).
    Own { account: String, region: String },
    /// A member account: the gate assumes `role_arn` there and acts in `region`.
    Member {
        account: String,
        region: String,
        role_arn: String,
    },
    /// Not an account (or region) the gate may act in: the reason, for the `ignored` outcome.
    NotAllowed(String),
}

/// Routes an image of `account` / `region` (the event's; `None` means the function's own) with
/// member accounts configured.
pub fn route(
    members: &MemberConfig,
    home: &Home,
    account: Option<&str>,
    region: Option<&str>,
) -> Route {
    let region = match region {
        None => home.region.clone(),
        Some(r) => match validate_region(r) {
            Ok(()) => r.to_string(),
            Err(problem) => return Route::NotAllowed(format!("the event's region {problem}")),
        },
    };
    match account {
        None => Route::Own {
            account: home.account.clone(),
            region,
        },
        Some(a) if a == home.account => Route::Own {
            account: a.to_string(),
            region,
        },
        Some(a) if !is_account_id(a) => Route::NotAllowed(format!(
            "account {:?} is not a 12-digit AWS account id",
            crate::domain::image::truncate(a, 40)
        )),
        Some(a) if !members.accounts.allows(a) => Route::NotAllowed(format!(
            "account {a} is not one the gate may act in (MEMBER_ACCOUNTS): nothing was read or changed"
        )),
        Some(a) => Route::Member {
            account: a.to_string(),
            region,
            role_arn: members.role_arn(&home.partition, a),
        },
    }
}

/// Without member accounts, an operator's direct invoke that names another account or region
/// is refused rather than evaluated in the function's own registry (where an image of the same
/// name would be the wrong one). `None`: fine, evaluate in the own registry. Events from
/// EventBridge are not checked: without `MEMBER_ROLE_NAME` their account is not consulted.
pub fn direct_invoke_elsewhere(
    home: Option<&Home>,
    account: Option<&str>,
    region: Option<&str>,
) -> Option<String> {
    if account.is_none() && region.is_none() {
        return None;
    }
    let Some(home) = home else {
        return Some(
            "the request names an account or region, but the function's own account is unknown \
             (no invoked function ARN): nothing was read or changed"
                .to_string(),
        );
    };
    if let Some(a) = account.filter(|a| *a != home.account) {
        return Some(format!(
            "the request names account {a}, but this gate acts only in its own account {} \
             (MEMBER_ROLE_NAME is not set): nothing was read or changed",
            home.account
        ));
    }
    if let Some(r) = region.filter(|r| *r != home.region) {
        return Some(format!(
            "the request names region {r}, but this gate acts only in its own region {} \
             (MEMBER_ROLE_NAME is not set): nothing was read or changed",
            home.region
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Option<MemberConfig>, MemberConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MemberConfig::from_lookup(|k| m.get(k).cloned())
    }

    fn home() -> Home {
        Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:ecr-scan-gate")
            .unwrap()
    }

    fn members(accounts: &str) -> MemberConfig {
        cfg(&[
            ("MEMBER_ROLE_NAME", "ecr-scan-gate-member"),
            ("MEMBER_ACCOUNTS", accounts),
        ])
        .unwrap()
        .unwrap()
    }

    #[test]
    fn no_role_name_means_no_member_accounts() {
        assert_eq!(cfg(&[]).unwrap(), None);
        assert_eq!(cfg(&[("MEMBER_ROLE_NAME", "  ")]).unwrap(), None);
        for variable in ["MEMBER_ACCOUNTS", "MEMBER_ROLE_EXTERNAL_ID"] {
            let e = cfg(&[(variable, "111111111111")]).unwrap_err();
            assert_eq!(e.variable, variable);
            assert!(e.problem.contains("MEMBER_ROLE_NAME is not"), "{e:?}");
        }
    }

    #[test]
    fn member_accounts_is_required_and_each_id_has_12_digits() {
        let e = cfg(&[("MEMBER_ROLE_NAME", "gate")]).unwrap_err();
        assert_eq!(e.variable, "MEMBER_ACCOUNTS");
        assert!(
            e.problem.contains("required with MEMBER_ROLE_NAME"),
            "{e:?}"
        );
        let e = cfg(&[
            ("MEMBER_ROLE_NAME", "gate"),
            ("MEMBER_ACCOUNTS", "111111111111, 22222222222"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "MEMBER_ACCOUNTS");
        assert!(
            e.problem.contains("entry 2") && e.problem.contains("\"22222222222\""),
            "{e:?}"
        );
        for bad in ["111111111111,", "*,111111111111", "11111111111a"] {
            assert!(
                cfg(&[("MEMBER_ROLE_NAME", "gate"), ("MEMBER_ACCOUNTS", bad)]).is_err(),
                "{bad}"
            );
        }
        let m = members(" 111111111111 ,222222222222");
        assert_eq!(
            m.accounts,
            AllowedAccounts::Only(
                ["111111111111", "222222222222"]
                    .map(String::from)
                    .into_iter()
                    .collect()
            )
        );
        assert_eq!(members("*").accounts, AllowedAccounts::Any);
    }

    #[test]
    fn role_name_and_external_id_are_checked_and_the_id_never_shown() {
        let e = cfg(&[
            ("MEMBER_ROLE_NAME", "arn:aws:iam::1:role/x"),
            ("MEMBER_ACCOUNTS", "*"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "MEMBER_ROLE_NAME");
        let ok = cfg(&[
            ("MEMBER_ROLE_NAME", "security/ecr-scan-gate-member"),
            ("MEMBER_ACCOUNTS", "*"),
            ("MEMBER_ROLE_EXTERNAL_ID", "s3cr3t-external-id"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            ok.role_arn("aws", "111111111111"),
            "arn:aws:iam::111111111111:role/security/ecr-scan-gate-member"
        );
        assert!(!format!("{ok:?}").contains("s3cr3t"));
        let e = cfg(&[
            ("MEMBER_ROLE_NAME", "gate"),
            ("MEMBER_ACCOUNTS", "*"),
            ("MEMBER_ROLE_EXTERNAL_ID", "has space s3cr3t"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "MEMBER_ROLE_EXTERNAL_ID");
        assert!(!e.problem.contains("s3cr3t"), "{e:?}");
    }

    #[test]
    fn home_comes_from_the_invoked_function_arn() {
        assert_eq!(
            home(),
            Home {
                partition: "aws".into(),
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
        let qualified =
            Home::from_function_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:gate:live")
                .unwrap();
        assert_eq!(qualified.partition, "aws-cn");
        assert_eq!(qualified.region, "cn-north-1");
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:1234:function:gate",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:Region:123456789012:function:gate",
        ] {
            let e = Home::from_function_arn(bad).unwrap_err();
            assert!(e.contains("not a Lambda function ARN"), "{e}");
        }
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(validate_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "u-east-1",
            "us--1",
            "us-east-100",
        ] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes_own_member_and_not_allowed() {
        let m = members("111111111111,222222222222");
        let h = home();
        assert_eq!(
            route(&m, &h, Some("123456789012"), Some("us-east-1")),
            Route::Own {
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
        // A direct invoke that names neither: the function's own registry.
        assert_eq!(
            route(&m, &h, None, None),
            Route::Own {
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
        // The own account in another region: still its own credentials.
        assert_eq!(
            route(&m, &h, Some("123456789012"), Some("eu-west-1")),
            Route::Own {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            route(&m, &h, Some("222222222222"), Some("eu-west-1")),
            Route::Member {
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                role_arn: "arn:aws:iam::222222222222:role/ecr-scan-gate-member".into()
            }
        );
        match route(&m, &h, Some("333333333333"), Some("us-east-1")) {
            Route::NotAllowed(reason) => {
                assert!(
                    reason.contains("333333333333") && reason.contains("MEMBER_ACCOUNTS"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            route(&members("*"), &h, Some("333333333333"), None),
            Route::Member { region, .. } if region == "us-east-1"
        ));
        match route(&m, &h, Some("11111111111x"), None) {
            Route::NotAllowed(reason) => assert!(reason.contains("11111111111x"), "{reason}"),
            other => panic!("{other:?}"),
        }
        match route(&m, &h, Some("111111111111"), Some("moon-base")) {
            Route::NotAllowed(reason) => assert!(reason.contains("moon-base"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_direct_invoke_may_name_the_account_and_region_of_its_image() {
        use crate::entry::event::{parse, Event};
        use serde_json::json;
        let digest = format!("sha256:{}", "a".repeat(64));
        let Event::Scan(e) = parse(&json!({
            "repository": "demo-api", "digest": digest,
            "account": "111111111111", "region": "eu-west-1"
        }))
        .unwrap() else {
            panic!("not a scan")
        };
        assert_eq!(e.account.as_deref(), Some("111111111111"));
        assert_eq!(e.region.as_deref(), Some("eu-west-1"));
        let Event::Scan(e) = parse(&json!({"repository": "demo-api", "tag": "v1"})).unwrap() else {
            panic!("not a scan")
        };
        assert_eq!((e.account, e.region), (None, None));
        for (key, value, problem) in [
            ("account", json!("1111"), "12-digit"),
            ("account", json!(111111111111u64), "must be a string"),
            ("region", json!("Europe"), "region name"),
        ] {
            let mut input = json!({"repository": "demo-api", "tag": "v1"});
            input[key] = value;
            let e = parse(&input).unwrap_err();
            assert_eq!(e.field, key);
            assert!(e.problem.contains(problem), "{e}");
        }
    }

    #[test]
    fn without_member_accounts_a_direct_invoke_stays_home() {
        let h = home();
        assert_eq!(direct_invoke_elsewhere(Some(&h), None, None), None);
        assert_eq!(
            direct_invoke_elsewhere(Some(&h), Some("123456789012"), Some("us-east-1")),
            None
        );
        let r = direct_invoke_elsewhere(Some(&h), Some("111111111111"), None).unwrap();
        assert!(
            r.contains("111111111111") && r.contains("MEMBER_ROLE_NAME"),
            "{r}"
        );
        let r = direct_invoke_elsewhere(Some(&h), None, Some("eu-west-1")).unwrap();
        assert!(r.contains("eu-west-1"), "{r}");
        assert!(direct_invoke_elsewhere(None, Some("111111111111"), None).is_some());
        assert_eq!(direct_invoke_elsewhere(None, None, None), None);
    }
}
