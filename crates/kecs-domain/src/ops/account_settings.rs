//! PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting and ListAccountSettings.
//!
//! Settings are per region and principal. The account default is the root user's setting (as in
//! ECS, where setting the root user's value sets the default); a principal without its own
//! setting gets the default, and without that, the value AWS ships.

use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, Limits};
use crate::state::{Mutation, State};
use crate::{EcsError, RequestContext};

const SETTINGS_PAGE: Limits = Limits {
    default: 10,
    max: 10,
};

fn key(ctx: &RequestContext, principal: &str, name: SettingName) -> String {
    format!("{}|{}|{}", ctx.region, principal, name.as_str())
}

/// The value AWS uses when nobody set one.
fn aws_default(name: SettingName) -> &'static str {
    match name {
        SettingName::ServiceLongArnFormat
        | SettingName::TaskLongArnFormat
        | SettingName::ContainerInstanceLongArnFormat
        | SettingName::TagResourceAuthorization => "enabled",
        SettingName::FargateTaskRetirementWaitPeriod => "7",
        SettingName::DefaultLogDriverMode => "non-blocking",
        _ => "disabled",
    }
}

fn check_value(name: SettingName, value: &str) -> Result<(), EcsError> {
    let allowed: &[&str] = match name {
        SettingName::ContainerInsights => &["enabled", "disabled", "enhanced"],
        SettingName::FargateTaskRetirementWaitPeriod => &["0", "7", "14"],
        SettingName::DefaultLogDriverMode => &["blocking", "non-blocking"],
        SettingName::GuardDutyActivate => {
            return Err(EcsError::invalid(
                "guardDutyActivate is read-only; it is managed by Amazon GuardDuty.",
            ))
        }
        SettingName::ServiceLongArnFormat
        | SettingName::TaskLongArnFormat
        | SettingName::ContainerInstanceLongArnFormat
            if value == "disabled" =>
        {
            return Err(EcsError::invalid(
                "You can no longer disable Long Arn settings.",
            ))
        }
        _ => &["enabled", "disabled"],
    };
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "Invalid value '{value}' for setting {name}. Valid values: {}.",
            allowed.join(", ")
        )))
    }
}

/// The principal named by `principal_arn` (the root user when absent).
fn principal(ctx: &RequestContext, principal_arn: Option<&str>) -> Result<String, EcsError> {
    match principal_arn.filter(|p| !p.is_empty()) {
        None => Ok(ctx.root_principal()),
        Some(p) => {
            let parts: Vec<&str> = p.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "iam"
                && (parts[5] == "root"
                    || parts[5].starts_with("user/")
                    || parts[5].starts_with("role/"));
            if ok {
                Ok(p.to_string())
            } else {
                Err(EcsError::invalid(format!(
                    "principalArn '{p}' is not a valid IAM user, role or root ARN."
                )))
            }
        }
    }
}

/// The setting in force for `principal`, and whether someone set it.
fn effective_setting(
    state: &State,
    ctx: &RequestContext,
    principal: &str,
    name: SettingName,
) -> Setting {
    let own = state.account_settings.get(&key(ctx, principal, name));
    let default = state
        .account_settings
        .get(&key(ctx, &ctx.root_principal(), name));
    match own.or(default) {
        Some(s) => Setting {
            principal_arn: Some(principal.to_string()),
            ..s.clone()
        },
        None => Setting {
            name: Some(name),
            value: Some(aws_default(name).into()),
            principal_arn: Some(principal.to_string()),
            r#type: Some(SettingType::AwsManaged),
        },
    }
}

/// The effective value of `name` for `principal`.
pub(crate) fn effective(
    state: &State,
    ctx: &RequestContext,
    principal: &str,
    name: SettingName,
) -> String {
    effective_setting(state, ctx, principal, name)
        .value
        .unwrap_or_default()
}

async fn put_setting(
    core: &Core,
    ctx: &RequestContext,
    name: Option<SettingName>,
    value: Option<String>,
    principal_arn: Option<&str>,
) -> Result<Setting, EcsError> {
    let name = name.ok_or_else(|| EcsError::invalid("name is required."))?;
    let value = value.unwrap_or_default();
    check_value(name, &value)?;
    let principal = principal(ctx, principal_arn)?;
    let setting = Setting {
        name: Some(name),
        value: Some(value),
        principal_arn: Some(principal.clone()),
        r#type: Some(SettingType::User),
    };
    let k = key(ctx, &principal, name);
    core.write(|_| {
        Ok((
            setting.clone(),
            vec![Mutation::PutSetting(k, setting.clone())],
        ))
    })
    .await
}

pub(crate) async fn put_account_setting(
    core: &Core,
    ctx: &RequestContext,
    input: PutAccountSettingRequest,
) -> Result<PutAccountSettingResponse, EcsError> {
    let setting = put_setting(
        core,
        ctx,
        input.name,
        input.value,
        input.principal_arn.as_deref(),
    )
    .await?;
    Ok(PutAccountSettingResponse {
        setting: Some(setting),
    })
}

pub(crate) async fn put_account_setting_default(
    core: &Core,
    ctx: &RequestContext,
    input: PutAccountSettingDefaultRequest,
) -> Result<PutAccountSettingDefaultResponse, EcsError> {
    let setting = put_setting(core, ctx, input.name, input.value, None).await?;
    Ok(PutAccountSettingDefaultResponse {
        setting: Some(setting),
    })
}

pub(crate) async fn delete_account_setting(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteAccountSettingRequest,
) -> Result<DeleteAccountSettingResponse, EcsError> {
    let name = input
        .name
        .ok_or_else(|| EcsError::invalid("name is required."))?;
    let principal = principal(ctx, input.principal_arn.as_deref())?;
    let k = key(ctx, &principal, name);
    let setting = core
        .write(|state| {
            let deleted = state
                .account_settings
                .get(&k)
                .cloned()
                .unwrap_or_else(|| Setting {
                    name: Some(name),
                    value: Some(effective(state, ctx, &principal, name)),
                    principal_arn: Some(principal.clone()),
                    r#type: Some(SettingType::User),
                });
            let mutations = if state.account_settings.contains_key(&k) {
                vec![Mutation::DeleteSetting(k.clone())]
            } else {
                vec![]
            };
            Ok((deleted, mutations))
        })
        .await?;
    Ok(DeleteAccountSettingResponse {
        setting: Some(setting),
    })
}

pub(crate) async fn list_account_settings(
    core: &Core,
    ctx: &RequestContext,
    input: ListAccountSettingsRequest,
) -> Result<ListAccountSettingsResponse, EcsError> {
    let principal = principal(ctx, input.principal_arn.as_deref())?;
    let mut settings: Vec<Setting> = core.read(|state| {
        SettingName::ALL
            .iter()
            .filter(|n| input.name.is_none_or(|want| want == **n))
            .filter_map(|&n| {
                if input.effective_settings == Some(true) {
                    Some(effective_setting(state, ctx, &principal, n))
                } else {
                    state
                        .account_settings
                        .get(&key(ctx, &principal, n))
                        .cloned()
                }
            })
            .filter(|s| {
                input
                    .value
                    .as_ref()
                    .is_none_or(|v| s.value.as_ref() == Some(v))
            })
            .collect()
    });
    settings.sort_by_key(|s| s.name.map(|n| n.as_str()));
    let page = paginate(
        settings,
        |s| s.name.map(|n| n.as_str().to_string()).unwrap_or_default(),
        false,
        input.max_results,
        input.next_token.as_deref(),
        SETTINGS_PAGE,
    )?;
    Ok(ListAccountSettingsResponse {
        settings: Some(page.items),
        next_token: page.next_token,
    })
}
