"""The web UI at /ui/ in a real browser (Debian's chromium and chromedriver, headless): every
page's content against the API's answers, every action, and live updates without a reload.
Screenshots go to $KECS_ARTIFACTS/ui (default: a kecs-artifacts directory in the temp dir).

Pages update live at any moment, so every check of what a page shows waits for it (polling, up
to WAIT_SECONDS), never for a fixed time that a slower machine would miss."""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import container, http

ARTIFACTS = Path(os.environ.get("KECS_ARTIFACTS", Path(tempfile.gettempdir()) / "kecs-artifacts")) / "ui"
IMAGE = "kecs-test/busybox:latest"
# The bound of every wait: only reached when a test is failing anyway.
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "chromium and chromium-driver are needed (scripts/test.sh installs them)"
    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait(driver, fn, timeout=WAIT_SECONDS, what="condition"):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            value = fn(driver)
            if value:
                return value
            last = value
        except Exception as e:  # the page is being redrawn: look again
            last = e
        time.sleep(0.05)
    shot(driver, f"timeout-{what}")
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def wait_equal(driver, read, expected, what, timeout=WAIT_SECONDS):
    """Polls `read(driver)` until it equals `expected`; fails naming what the page showed last."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = read(driver)
            if last == expected:
                return
        except Exception as e:  # the page is being redrawn: look again
            last = e
        time.sleep(0.05)
    shot(driver, f"timeout-{what}")
    pytest.fail(f"timed out after {timeout} s waiting for {what}: page shows {last!r}, expected {expected!r}")


def shot(driver, name):
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def open_page(driver, server, route):
    """Loads the UI at `route` and waits until the view has drawn its data and is live."""
    driver.get(f"{server.api_url}/ui/#{route}")
    driver.refresh()  # a hash-only change would not reload an already open page
    wait(driver, lambda d: d.find_element(By.ID, "main").get_attribute("data-ready") == f"#{route}",
         what=f"page {route}")
    wait(driver, lambda d: d.find_element(By.ID, "live").text == "live", what="live events")
    # Marks this page load: the mark survives live updates and is gone after a reload.
    driver.execute_script("window.kecsLoaded = true")


def not_reloaded(driver):
    assert driver.execute_script("return window.kecsLoaded === true"), "the page reloaded"


# Live updates redraw tables at any moment, so reads and clicks inside them are single
# JavaScript calls (a WebElement found before a redraw would be stale after it).
def cell(driver, row_selector, test):
    text = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e && e.textContent.trim();",
        f"{row_selector} [data-test='{test}']")
    assert text is not None, f"no {test} in {row_selector}"
    return text


def rows(driver, table, attribute):
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => r.getAttribute(arguments[1]));",
        f"[data-test='{table}'] tbody tr", attribute)


def click(driver, selector):
    assert driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;", selector), selector


def test_clusters_overview_matches_the_api_and_updates_live(server, ecs, browser):
    for name in ("alpha", "beta"):
        ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ecs.run_task(cluster="alpha", taskDefinition="web", count=2)
    ecs.create_service(cluster="beta", serviceName="svc", taskDefinition="web", desiredCount=1)
    open_page(browser, server, "/")
    api = {c["clusterName"]: c for c in
           ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]}
    wait_equal(browser, lambda d: sorted(rows(d, "clusters", "data-cluster")), sorted(api), "clusters")
    wait(browser, lambda d: cell(d, "[data-cluster='beta']", "running") == "1", what="service task")
    for name, c in api.items():
        row = f"[data-cluster='{name}']"
        wait_equal(browser, lambda d: cell(d, row, "services"), str(c["activeServicesCount"]),
                   f"services of {name}")
    wait_equal(browser, lambda d: cell(d, "[data-cluster='alpha']", "running"), "2", "alpha's tasks")
    shot(browser, "clusters")

    # Changes made elsewhere appear without a reload.
    ecs.run_task(cluster="alpha", taskDefinition="web")
    ecs.create_cluster(clusterName="gamma")
    wait(browser, lambda d: cell(d, "[data-cluster='alpha']", "running") == "3", what="live count")
    wait(browser, lambda d: "gamma" in rows(d, "clusters", "data-cluster"), what="new cluster")
    wait(browser, lambda d: all(t in d.find_element(By.ID, "events").text
                                for t in ("ECS Task State Change", "ECS Cluster State Change")),
         what="events column")
    not_reloaded(browser)

    # Action: create a cluster from the page.
    form = browser.find_element(By.ID, "create-cluster")
    form.find_element(By.NAME, "name").send_keys("from-ui")
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: "from-ui" in rows(d, "clusters", "data-cluster"), what="created cluster")
    assert ecs.describe_clusters(clusters=["from-ui"])["clusters"][0]["status"] == "ACTIVE"
    shot(browser, "clusters-live")


def test_cluster_page_runs_and_stops_tasks(server, ecs, browser):
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ecs.register_task_definition(family="worker", containerDefinitions=[container()])
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=2)
    open_page(browser, server, "/clusters/c")
    wait_equal(browser, lambda d: rows(d, "services", "data-service"), ["svc"], "services")
    wait_equal(browser, lambda d: cell(d, "[data-service='svc']", "desired"), "2", "desired count")
    wait(browser, lambda d: len(rows(d, "tasks", "data-task")) == 2, what="service tasks")
    api_tasks = {a.split("/")[-1] for a in ecs.list_tasks(cluster="c")["taskArns"]}
    wait_equal(browser, lambda d: set(rows(d, "tasks", "data-task")), api_tasks, "the API's tasks")

    # Action: run a task of the chosen family.
    form = browser.find_element(By.ID, "run-task")
    Select(form.find_element(By.NAME, "family")).select_by_visible_text("worker")
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: len(rows(d, "tasks", "data-task")) == 3, what="task run from the UI")
    started = [t for t in ecs.describe_tasks(cluster="c", tasks=ecs.list_tasks(cluster="c")["taskArns"])["tasks"]
               if t["group"] == "family:worker"]
    assert len(started) == 1
    task_id = started[0]["taskArn"].split("/")[-1]
    shot(browser, "cluster")

    # Action: stop it.
    click(browser, f"[data-task='{task_id}'] button[data-stop]")
    wait(browser, lambda d: cell(d, f"[data-task='{task_id}']", "last-status") == "STOPPED", what="stopped")
    task = ecs.describe_tasks(cluster="c", tasks=[task_id])["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"] == "Stopped from the KECS UI"
    not_reloaded(browser)
    shot(browser, "cluster-stopped")


def test_service_page_scales_and_redeploys(server, ecs, browser):
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[container()])
    ecs.create_service(cluster="c", serviceName="svc", taskDefinition="web", desiredCount=1)
    open_page(browser, server, "/clusters/c/services/svc")
    wait(browser, lambda d: cell(d, "[data-test='service-summary']", "running") == "1", what="running")
    service = ecs.describe_services(cluster="c", services=["svc"])["services"][0]
    wait_equal(browser, lambda d: rows(d, "deployments", "data-deployment"),
               [x["id"] for x in service["deployments"]], "deployments")
    wait(browser, lambda d: "steady state" in d.find_element(By.ID, "service-events").text, what="events")

    # Action: scale to 3; the running count follows live.
    scale = browser.find_element(By.ID, "scale")
    scale.find_element(By.NAME, "desired").clear()
    scale.find_element(By.NAME, "desired").send_keys("3")
    scale.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda d: cell(d, "[data-test='service-summary']", "running") == "3", what="scaled")
    assert ecs.describe_services(cluster="c", services=["svc"])["services"][0]["desiredCount"] == 3
    # The summary and the task rows follow different events: wait for the rows too.
    wait_equal(browser, lambda d: len(rows(d, "tasks", "data-task")), 3, "task rows")
    shot(browser, "service-scaled")

    # Action: force a new deployment; the new PRIMARY shows up.
    old = service["deployments"][0]["id"]
    browser.find_element(By.CSS_SELECTOR, "#redeploy button").click()
    wait(browser, lambda d: rows(d, "deployments", "data-deployment")[0] != old, what="new deployment")
    api = ecs.describe_services(cluster="c", services=["svc"])["services"][0]
    wait_equal(browser, lambda d: rows(d, "deployments", "data-deployment")[0], api["deployments"][0]["id"],
               "the PRIMARY deployment")
    not_reloaded(browser)
    shot(browser, "service-redeployed")


def test_task_page_shows_containers_exit_codes_ports_and_logs(docker_server, browser):
    ecs = docker_server.client()
    ecs.create_cluster(clusterName="ui")
    ecs.register_task_definition(family="hello", containerDefinitions=[
        container("app", image=IMAGE, command=["sh", "-c", "echo hello from kecs; sleep 1; exit 3"],
                  portMappings=[{"containerPort": 8080, "hostPort": 0}])])
    task = ecs.run_task(cluster="ui", taskDefinition="hello")["tasks"][0]
    task_id = task["taskArn"].split("/")[-1]
    open_page(browser, docker_server, f"/clusters/ui/tasks/{task_id}")
    # Live: the page follows the task to STOPPED and its exit code.
    wait(browser, lambda d: cell(d, "[data-container='app']", "exit-code") == "3", what="exit code")
    wait_equal(browser, lambda d: cell(d, "[data-container='app']", "container-status"), "STOPPED",
               "container status")
    wait_equal(browser, lambda d: cell(d, "[data-test='task-summary']", "last-status"), "STOPPED",
               "task status")
    described = ecs.describe_tasks(cluster="ui", tasks=[task_id])["tasks"][0]
    assert described["lastStatus"] == "STOPPED"
    assert described["containers"][0]["exitCode"] == 3
    shown = [f"{b['hostPort']}→{b['containerPort']}" for b in described["containers"][0].get("networkBindings", [])]
    wait(browser, lambda d: all(p in d.execute_script(
        "return document.querySelector(\"tr[data-container='app']\").textContent") for p in shown),
         what="port bindings")
    wait(browser, lambda d: "hello from kecs" in
         d.find_element(By.CSS_SELECTOR, "pre[data-test='logs'][data-container='app']").text, what="logs")
    not_reloaded(browser)
    shot(browser, "task")


def test_task_definitions_pages_and_register_from_json(server, ecs, browser):
    ecs.register_task_definition(family="api", containerDefinitions=[container()])
    ecs.register_task_definition(family="api", containerDefinitions=[container(memory=256)])
    ecs.register_task_definition(family="batch", containerDefinitions=[container()])
    open_page(browser, server, "/task-definitions")
    api_families = ecs.list_task_definition_families(status="ALL")["families"]
    wait_equal(browser, lambda d: rows(d, "families", "data-family"), api_families, "families")
    shot(browser, "families")

    open_page(browser, server, "/task-definitions/api")
    wait_equal(browser, lambda d: rows(d, "revisions", "data-revision"), ["2", "1"], "revisions")
    shown = json.loads(browser.execute_script(
        "return document.querySelector(\"[data-test='task-definition-json']\").textContent"))
    status, _, body = http("POST", f"{server.api_url}/", json.dumps({"taskDefinition": "api:2"}).encode(), {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"})
    assert status == 200 and shown == json.loads(body)["taskDefinition"]
    assert shown["containerDefinitions"][0]["memory"] == 256

    # Action: register a revision from pasted JSON.
    open_page(browser, server, "/task-definitions")
    pasted = {"family": "api", "containerDefinitions": [container(memory=512)]}
    browser.find_element(By.CSS_SELECTOR, "#register textarea").send_keys(json.dumps(pasted))
    browser.find_element(By.CSS_SELECTOR, "#register button").click()
    wait(browser, lambda d: d.find_element(By.ID, "main").get_attribute("data-ready") == "#/task-definitions/api/3",
         what="the new revision")
    td = ecs.describe_task_definition(taskDefinition="api:3")["taskDefinition"]
    assert td["containerDefinitions"][0]["memory"] == 512
    wait_equal(browser, lambda d: rows(d, "revisions", "data-revision"), ["3", "2", "1"], "revisions")
    shot(browser, "registered")

    # Bad JSON is refused with a message, nothing registered.
    open_page(browser, server, "/task-definitions")
    browser.find_element(By.CSS_SELECTOR, "#register textarea").send_keys("{not json")
    browser.find_element(By.CSS_SELECTOR, "#register button").click()
    wait(browser, lambda d: "Not JSON" in d.find_element(By.ID, "toast").text, what="error toast")
    assert len(ecs.list_task_definitions(familyPrefix="api")["taskDefinitionArns"]) == 3


def test_ui_assets_are_served_by_the_binary(server):
    status, headers, body = http("GET", f"{server.api_url}/ui/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"app.js" in body
