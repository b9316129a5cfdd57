//! A log group's streams and their events: each container with the `awslogs` driver of a task
//! KECS still knows (running, or stopped and within the retention) is a stream named as ECS names
//! it, whose events are what the container wrote, read from the engine when asked
//! (DescribeLogStreams, GetLogEvents, FilterLogEvents — what `aws logs tail` polls).

use std::collections::{BTreeMap, BTreeSet};

use crate::core::Core;
use crate::model::logs::{
    DescribeLogStreamsRequest, DescribeLogStreamsResponse, FilterLogEventsRequest,
    FilterLogEventsResponse, FilteredLogEvent, GetLogEventsRequest, GetLogEventsResponse, LogGroup,
    LogStream, OrderBy, OutputLogEvent,
};
use crate::model::Task;
use crate::ops::log_groups::{existing, named_group};
use crate::ops::pagination::{paginate, Limits};
use crate::rules::awslogs::{millis, options, stream_arn, AwsLogs};
use crate::rules::log_filter::FilterPattern;
use crate::rules::log_pages::{backward, event_id, event_limit, forward, window};
use crate::state::State;
use crate::{LogsError, RequestContext};

/// DescribeLogStreams' page sizes: 1 to 50, 50 by default.
const STREAM_PAGE: Limits = Limits {
    default: 50,
    max: 50,
};

/// One stream: a task's container writing to the group.
struct Stream {
    name: String,
    task: Task,
    container: String,
    created_ms: i64,
}

/// One event of a stream.
struct Event {
    timestamp: i64,
    message: String,
}

/// The streams of the group `group_arn`, by name.
fn streams_of(state: &State, group_arn: &str, account: &str) -> Vec<Stream> {
    // Each task definition with awslogs containers, and those containers' options, read once.
    let writers: BTreeMap<&str, Vec<(String, AwsLogs)>> = state
        .task_definitions
        .iter()
        .chain(&state.daemon_launch_definitions)
        .filter_map(|(arn, td)| {
            let containers: Vec<(String, AwsLogs)> = td
                .container_definitions
                .iter()
                .flatten()
                .filter_map(|c| {
                    Some((
                        c.name.clone()?,
                        options(c.log_configuration.as_ref())?.ok()?,
                    ))
                })
                .collect();
            (!containers.is_empty()).then_some((arn.as_str(), containers))
        })
        .collect();
    let families: BTreeSet<String> = writers
        .keys()
        .filter_map(|arn| crate::arn::family_of(Some(arn)))
        .collect();
    let mut streams = vec![];
    for (arn, summary) in state.tasks.summaries() {
        if !summary
            .family
            .as_deref()
            .is_some_and(|f| families.contains(f))
        {
            continue;
        }
        let Some(task) = state.tasks.get(arn).map(|t| t.task) else {
            continue;
        };
        let Some(containers) = task
            .task_definition_arn
            .as_deref()
            .and_then(|td| writers.get(td))
        else {
            continue;
        };
        let region = crate::arn::parse(arn).map_or("", |a| a.region);
        let task_id = arn.rsplit('/').next().unwrap_or_default();
        for (container, logs) in containers {
            if logs.group_arn(region, account) != group_arn {
                continue;
            }
            let runtime_id = task
                .containers
                .iter()
                .flatten()
                .find(|c| c.name.as_deref() == Some(container.as_str()))
                .and_then(|c| c.runtime_id.clone());
            // A stream exists once its container does, as the awslogs driver creates it then.
            let Some(runtime_id) = runtime_id else {
                continue;
            };
            streams.push(Stream {
                name: logs.stream(container, task_id, &runtime_id),
                task: task.clone(),
                container: container.clone(),
                created_ms: millis(task.created_at.unwrap_or_default()),
            });
        }
    }
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    streams
}

/// The group a request names (it must exist) and its streams.
fn group_and_streams(
    core: &Core,
    ctx: &RequestContext,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<(LogGroup, Vec<Stream>), LogsError> {
    let arn = named_group(ctx, name, identifier)?;
    core.read(|state| {
        let group = existing(state, &arn)?;
        Ok((group, streams_of(state, &arn, &ctx.account_id)))
    })
}

/// What the stream's container wrote, oldest first, within the group's retention; a line the
/// engine gave no time keeps the time of the line before it.
async fn events_of(
    core: &Core,
    group: &LogGroup,
    stream: &Stream,
) -> Result<Vec<Event>, LogsError> {
    let lines = core
        .runtime
        .logs(&stream.task, &stream.container, None)
        .await
        .map_err(|e| crate::EcsError::internal("reading a container's logs", e))?;
    let oldest = group
        .retention_in_days
        .map_or(i64::MIN, |d| millis(core.now()) - i64::from(d) * 86_400_000);
    let mut last = stream.created_ms;
    Ok(lines
        .into_iter()
        .map(|l| {
            last = l.timestamp_ms.unwrap_or(last);
            Event {
                timestamp: last,
                message: l.message,
            }
        })
        .filter(|e| e.timestamp >= oldest)
        .collect())
}

fn in_range(e: &Event, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|s| e.timestamp >= s) && end.is_none_or(|t| e.timestamp < t)
}

pub(crate) async fn describe_log_streams(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeLogStreamsRequest,
) -> Result<DescribeLogStreamsResponse, LogsError> {
    let by_time = input.order_by == Some(OrderBy::LastEventTime);
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    if by_time && !prefix.is_empty() {
        return Err(LogsError::InvalidParameter(
            "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
        ));
    }
    let (group, streams) = group_and_streams(
        core,
        ctx,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let group_arn = group.log_group_arn.clone().unwrap_or_default();
    let mut described = vec![];
    for stream in streams.iter().filter(|s| s.name.starts_with(&prefix)) {
        let events = events_of(core, &group, stream).await?;
        let first = events.first().map(|e| e.timestamp);
        let last = events.last().map(|e| e.timestamp);
        described.push(LogStream {
            log_stream_name: Some(stream.name.clone()),
            creation_time: Some(stream.created_ms),
            first_event_timestamp: first,
            last_event_timestamp: last,
            last_ingestion_time: last,
            arn: Some(stream_arn(&group_arn, &stream.name)),
            stored_bytes: Some(0),
            ..LogStream::default()
        });
    }
    let descending = input.descending.unwrap_or(false);
    let key = |s: &LogStream| match by_time {
        true => format!(
            "{:020}{}",
            s.last_event_timestamp.unwrap_or(0),
            s.log_stream_name.as_deref().unwrap_or_default()
        ),
        false => s.log_stream_name.clone().unwrap_or_default(),
    };
    described.sort_by_key(key);
    if descending {
        described.reverse();
    }
    let page = paginate(
        described,
        key,
        descending,
        input.limit,
        input.next_token.as_deref(),
        STREAM_PAGE,
    )?;
    Ok(DescribeLogStreamsResponse {
        log_streams: Some(page.items),
        next_token: page.next_token,
    })
}

pub(crate) async fn get_log_events(
    core: &Core,
    ctx: &RequestContext,
    input: GetLogEventsRequest,
) -> Result<GetLogEventsResponse, LogsError> {
    let (group, streams) = group_and_streams(
        core,
        ctx,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let name = input.log_stream_name.unwrap_or_default();
    let Some(stream) = streams.iter().find(|s| s.name == name) else {
        return Err(LogsError::ResourceNotFound(
            "The specified log stream does not exist.".into(),
        ));
    };
    let events: Vec<Event> = events_of(core, &group, stream)
        .await?
        .into_iter()
        .filter(|e| in_range(e, input.start_time, input.end_time))
        .collect();
    let (start, end) = window(
        events.len(),
        input.limit,
        input.start_from_head.unwrap_or(false),
        input.next_token.as_deref(),
    )
    .map_err(LogsError::InvalidParameter)?;
    Ok(GetLogEventsResponse {
        events: Some(
            events[start..end]
                .iter()
                .map(|e| OutputLogEvent {
                    timestamp: Some(e.timestamp),
                    message: Some(e.message.clone()),
                    ingestion_time: Some(e.timestamp),
                })
                .collect(),
        ),
        next_forward_token: Some(forward(end)),
        next_backward_token: Some(backward(start)),
    })
}

pub(crate) async fn filter_log_events(
    core: &Core,
    ctx: &RequestContext,
    input: FilterLogEventsRequest,
) -> Result<FilterLogEventsResponse, LogsError> {
    let pattern = FilterPattern::parse(input.filter_pattern.as_deref())
        .map_err(LogsError::InvalidParameter)?;
    let names = input.log_stream_names.unwrap_or_default();
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    if !names.is_empty() && !prefix.is_empty() {
        return Err(LogsError::InvalidParameter(
            "logStreamNames and logStreamNamePrefix are mutually exclusive.".into(),
        ));
    }
    let limit = event_limit(input.limit).map_err(LogsError::InvalidParameter)?;
    let after = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) if t.len() == 56 && t.bytes().all(|b| b.is_ascii_digit()) => Some(t.to_string()),
        Some(_) => {
            return Err(LogsError::InvalidParameter(
                "The specified nextToken is invalid.".into(),
            ))
        }
        None => None,
    };
    let (group, streams) = group_and_streams(
        core,
        ctx,
        input.log_group_name.as_deref(),
        input.log_group_identifier.as_deref(),
    )?;
    let chosen = streams
        .iter()
        .filter(|s| (names.is_empty() || names.contains(&s.name)) && s.name.starts_with(&prefix));
    let mut found = vec![];
    for stream in chosen {
        for (i, e) in events_of(core, &group, stream)
            .await?
            .into_iter()
            .enumerate()
        {
            if !in_range(&e, input.start_time, input.end_time) || !pattern.matches(&e.message) {
                continue;
            }
            let id = event_id(e.timestamp, &stream.name, i);
            if after.as_ref().is_none_or(|a| id > *a) {
                found.push(FilteredLogEvent {
                    log_stream_name: Some(stream.name.clone()),
                    timestamp: Some(e.timestamp),
                    message: Some(e.message),
                    ingestion_time: Some(e.timestamp),
                    event_id: Some(id),
                });
            }
        }
    }
    found.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let more = found.len() > limit;
    found.truncate(limit);
    Ok(FilterLogEventsResponse {
        next_token: more
            .then(|| found.last().and_then(|e| e.event_id.clone()))
            .flatten(),
        events: Some(found),
        searched_log_streams: None,
    })
}
