"""deploy/monitoring.yaml's dashboard shows every metric the binary emits, per scheduled job: one widget per metric,
found by the name the source gives it, so a metric added to the binary without a widget fails here. Also the
slack to expiry against each job's warning threshold (jobs/*.toml), and one Logs Insights table per job with its
latest run summaries from the task log group the compute stack creates.

The metric names, namespace and dimension are read from `run_metrics` in crates/s3shift-cli/src/commands/run.rs
(the one function of the image's crates that builds an EMF MetricSet; the test refuses to pass if another appears).
The dashboard body (Fn::Sub over JSON) is substituted for the sample deployment and parsed as JSON.
"Dashboard Body Structure and Syntax" (CloudWatch API reference) is the format.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import json
import re
import tomllib
import unittest

import cfn
from cfn import ROOT

RUN_RS = ROOT / "crates" / "s3shift-cli" / "src" / "commands" / "run.rs"


def strip_test_modules(source):
    cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod \w+ \{", source, re.MULTILINE)
    return source[: cut.start()] if cut else source


def function_body(source, name):
    """The text of `fn name` up to its closing brace at column 0."""
    start = re.search(rf"^(pub(\(crate\))? )?fn {name}\b", source, re.MULTILINE)
    if not start:
        raise AssertionError(f"{RUN_RS.relative_to(ROOT)}: no fn {name}")
    end = source.index("\n}\n", start.end())
    return source[start.start() : end + 2]


def emitted():
    """(namespace, dimension names, metric names) of the EMF line every run prints."""
    # Only run_metrics builds a MetricSet in the image's crates (the stand-ins and the test kit are not in it).
    builders = []
    for path in sorted((ROOT / "crates").glob("*/src/**/*.rs")):
        crate = path.relative_to(ROOT / "crates").parts[0]
        if crate in ("s3shift-local", "s3shift-testkit", "s3shift-telemetry"):
            continue
        if re.search(r"\bMetricSet\s*\{", strip_test_modules(path.read_text(encoding="utf-8"))):
            builders.append(str(path.relative_to(ROOT)))
    if builders != [str(RUN_RS.relative_to(ROOT))]:
        raise AssertionError(f"MetricSet is built in {builders}; this test reads run_metrics in run.rs only")
    body = function_body(strip_test_modules(RUN_RS.read_text(encoding="utf-8")), "run_metrics")
    # Closures that name a metric: `let count = |name: &str, v: u64| (format!("s3shift_{name}_count"), ...`.
    templates = dict(re.findall(r"let (\w+) = \|name: &str[^|]*\|\s*\(\s*format!\(\"([^\"]+)\"\)", body))
    names = []
    for closure, template in templates.items():
        for argument in re.findall(rf"\b{closure}\(\s*\"([a-z0-9_]+)\"", body):
            names.append(template.replace("{name}", argument))
    names += re.findall(r"\"(s3shift_[a-z0-9_]+)\"\.into\(\)", body)
    # Every metric entry carries a unit: the closures' own plus one per direct entry.
    units = len(re.findall(r"Unit::\w+", body)) - len(templates)
    direct = len(re.findall(r"\"(s3shift_[a-z0-9_]+)\"\.into\(\)", body))
    if units != direct or len(names) != len(set(names)):
        raise AssertionError(f"run_metrics: read {names}, {units} units for {direct} direct entries")
    (namespace,) = re.findall(r"namespace:\s*\"([^\"]+)\"", body)
    dimensions = re.findall(r"dimensions:\s*vec!\[\s*\(\s*\"([^\"]+)\"", body)
    return namespace, dimensions, names


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.namespace, cls.dimensions, cls.metrics = emitted()
        cls.deployment = cfn.Deployment()
        monitoring = cls.deployment.stacks["monitoring"]["Resources"]
        dashboards = [r["Properties"] for r in monitoring.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
        assert len(dashboards) == 1, f"{len(dashboards)} dashboards in monitoring.yaml"
        (cls.dashboard,) = dashboards
        body = cls.dashboard["DashboardBody"]["Fn::Sub"]
        cls.body = json.loads(cls.deployment.sub("monitoring", body))
        cls.widgets = cls.body["widgets"]
        compute = cls.deployment.stacks["compute"]["Resources"]
        cls.jobs = sorted({
            r["Properties"]["ContainerDefinitions"][0]["Command"][1]
            for r in compute.values()
            if r["Type"] == "AWS::ECS::TaskDefinition" and r["Properties"]["ContainerDefinitions"][0]["Command"][0] == "run"
        })
        cls.task_log_group = cls.deployment.resolve("compute", compute["TaskLogGroup"]["Properties"]["LogGroupName"])

    def metric_widgets(self):
        return [w for w in self.widgets if w["type"] == "metric"]

    def test_the_source_scan_finds_the_metrics_the_alarms_watch(self):
        # A scan that found nothing would make the comparisons below vacuous.
        self.assertGreaterEqual(len(self.metrics), 10, self.metrics)
        for name in ("s3shift_run_duration_seconds", "s3shift_expiry_warnings_count", "s3shift_objects_loaded_count"):
            self.assertIn(name, self.metrics)
        self.assertEqual((self.namespace, self.dimensions), ("s3shift", ["job"]))

    def test_one_widget_per_emitted_metric_with_a_line_per_job(self):
        shown = {}
        for widget in self.metric_widgets():
            names = {line[1] for line in widget["properties"]["metrics"]}
            self.assertEqual(len(names), 1, f"{widget['properties'].get('title')}: one metric per widget, not {names}")
            shown.setdefault(names.pop(), []).append(widget)
        self.assertEqual(sorted(set(self.metrics) - set(shown)), [], "emitted metrics without a widget")
        self.assertEqual(sorted(set(shown) - set(self.metrics)), [], "widgets on metrics the binary does not emit")
        for name, widgets in shown.items():
            with self.subTest(metric=name):
                self.assertEqual(len(widgets), 1, f"{name} has {len(widgets)} widgets")
                properties = widgets[0]["properties"]
                lines = properties["metrics"]
                for line in lines:
                    namespace, _, dimension, value = line[:4]
                    self.assertEqual((namespace, dimension), (self.namespace, self.dimensions[0]))
                self.assertEqual(sorted(line[3] for line in lines), self.jobs, f"{name}: a line per scheduled job")
                self.assertEqual(properties["region"], cfn.SAMPLE_PSEUDO["AWS::Region"])
                self.assertIn("stat", properties)

    def test_slack_to_expiry_is_drawn_against_each_jobs_warning_threshold(self):
        (widget,) = [
            w
            for w in self.metric_widgets()
            if w["properties"]["metrics"][0][1] == "s3shift_min_slack_to_expiry_hours"
        ]
        self.assertEqual(widget["properties"]["stat"], "Minimum")
        horizontal = widget["properties"]["annotations"]["horizontal"]
        for job in self.jobs:
            with self.subTest(job=job):
                with open(ROOT / "jobs" / f"{job}.toml", "rb") as f:
                    threshold = tomllib.load(f)["alerts"]["expiry_warning_hours"]
                lines = [a for a in horizontal if a["label"].startswith(f"{job} ")]
                self.assertEqual([a["value"] for a in lines], [threshold])

    def test_each_job_has_a_table_of_its_latest_run_summaries(self):
        logs = [w for w in self.widgets if w["type"] == "log"]
        self.assertEqual(len(logs), len(self.jobs))
        for job in self.jobs:
            with self.subTest(job=job):
                (widget,) = [w for w in logs if f'job = "{job}"' in w["properties"]["query"]]
                query = widget["properties"]["query"]
                self.assertEqual(re.findall(r"SOURCE '([^']+)'", query), [self.task_log_group])
                # The summary is the run's EMF line: it has the duration, which no other log line has.
                self.assertIn("ispresent(s3shift_run_duration_seconds)", query)
                self.assertIn("sort @timestamp desc", query)
                self.assertEqual(widget["properties"]["region"], cfn.SAMPLE_PSEUDO["AWS::Region"])

    def test_the_widgets_fit_the_grid_without_overlapping(self):
        taken = set()
        for widget in self.widgets:
            self.assertLessEqual(widget["x"] + widget["width"], 24, widget)
            cells = {
                (x, y)
                for x in range(widget["x"], widget["x"] + widget["width"])
                for y in range(widget["y"], widget["y"] + widget["height"])
            }
            self.assertEqual(taken & cells, set(), widget)
            taken |= cells
        self.assertLessEqual(len(self.widgets), 100, "a dashboard holds at most 100 widgets")


if __name__ == "__main__":
    unittest.main()
