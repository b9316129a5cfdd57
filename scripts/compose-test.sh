#!/usr/bin/env bash
# KECS as users run it with docker-compose: builds kecs:local (scripts/docker-image.sh, no
# registry needed), starts the compose file, waits for its healthcheck, and drives it with the
# AWS CLI: a web-server task whose page is fetched from its published port, adopted again after
# the KECS container restarts, stopped; the cluster deleted; `docker-compose down -v` must leave
# no container, network or volume of ours behind.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-image.sh
scripts/docker-image.sh

project=kecs-compose-test
compose=(docker-compose -p "$project")
ecs=(aws ecs --endpoint-url http://127.0.0.1:8080 --region us-east-1 --output text)
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
cluster_arn=arn:aws:ecs:us-east-1:000000000000:cluster/compose
fail() { echo "compose test FAILED: $*" >&2; "${compose[@]}" logs --tail 50 kecs >&2 || true; exit 1; }
cleanup() {
    "${compose[@]}" down -v >/dev/null 2>&1 || true
    docker ps -aq --filter "label=kecs.cluster=$cluster_arn" | xargs -r docker rm -f >/dev/null
    docker network rm kecs-compose >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

wait_healthy() {
    local id
    id=$("${compose[@]}" ps -q kecs)
    for _ in $(seq 120); do
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && return 0
        sleep 0.5
    done
    fail "the KECS container never became healthy"
}

"${compose[@]}" up -d >/dev/null 2>&1 || fail "docker-compose up"
wait_healthy
echo "compose: KECS healthy"
# Another container of the project reaches KECS by its service name (KECS_ALLOWED_HOSTS: kecs).
docker run --rm --network "${project}_default" kecs-test/busybox:latest \
    wget -q -O- http://kecs:8081/health | grep -q ok || fail "a container could not reach http://kecs:8081"
echo "compose: reachable as http://kecs from the project's network"

"${ecs[@]}" create-cluster --cluster-name compose >/dev/null
"${ecs[@]}" register-task-definition --family web --container-definitions '[{
    "name": "web", "image": "kecs-test/busybox:latest", "memory": 32, "stopTimeout": 2,
    "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
    "portMappings": [{"containerPort": 8080}]}]' >/dev/null
task=$("${ecs[@]}" run-task --cluster compose --task-definition web --query 'tasks[0].taskArn')
"${ecs[@]}" wait tasks-running --cluster compose --tasks "$task" || fail "task not RUNNING"
port=$("${ecs[@]}" describe-tasks --cluster compose --tasks "$task" \
    --query 'tasks[0].containers[0].networkBindings[0].hostPort')
page=$(curl -sf "http://127.0.0.1:$port/index.html") || fail "no page on port $port"
[ "$page" = hello-from-kecs ] || fail "unexpected page: $page"
container=$(docker ps -q --filter "label=kecs.task-arn=$task")
[ -n "$container" ] || fail "no container for the task"
echo "compose: task RUNNING, page served on 127.0.0.1:$port"

"${compose[@]}" restart kecs >/dev/null 2>&1 || fail "docker-compose restart"
wait_healthy
status=$("${ecs[@]}" describe-tasks --cluster compose --tasks "$task" --query 'tasks[0].lastStatus')
[ "$status" = RUNNING ] || fail "after the restart the task is $status"
[ "$(docker ps -q --filter "label=kecs.task-arn=$task")" = "$container" ] \
    || fail "the task's container was not kept"
curl -sf "http://127.0.0.1:$port/index.html" >/dev/null || fail "page gone after the restart"
echo "compose: KECS restarted, task adopted"

"${ecs[@]}" stop-task --cluster compose --task "$task" >/dev/null
"${ecs[@]}" wait tasks-stopped --cluster compose --tasks "$task" || fail "task not STOPPED"
"${ecs[@]}" delete-cluster --cluster compose >/dev/null
for _ in $(seq 100); do
    [ -z "$(docker ps -aq --filter "label=kecs.cluster=$cluster_arn")" ] && break
    sleep 0.1
done
"${compose[@]}" down -v >/dev/null 2>&1 || fail "docker-compose down"
left=$(docker ps -aq --filter "label=kecs.cluster=$cluster_arn"; docker ps -aq --filter "label=com.docker.compose.project=$project")
[ -z "$left" ] || fail "containers left behind: $left"
[ -z "$(docker network ls -q --filter name=^kecs-compose$)" ] || fail "network kecs-compose left behind"
[ -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ] || fail "volume left behind"
echo "compose: task stopped, cluster deleted, nothing left behind"
