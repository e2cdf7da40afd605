package report

import (
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/serve/nightly"
)

// TestRunReport: a run's report shows its outcome, stages, tasks (a
// failed one marked), the retraining decision, the quality check with its
// warning and the triggers per rule, escaped.
func TestRunReport(t *testing.T) {
	s := &nightly.Summary{
		Dataset: "demo", AsOf: "2025-01-01", Run: "r1", Holder: "host:1", StartedAt: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC),
		Elapsed: nightly.Duration(90 * time.Second), OK: false,
		Tasks: []nightly.TaskResult{
			{Task: "churn", Model: "churn@champion", Status: nightly.StatusPublished, Publication: "scores/demo/churn/2025-01-01/", Rows: 12345},
			{Task: "clv", Model: "clv@champion", Status: nightly.StatusFailed, Error: "no model <clv>"},
		},
		Stages: []nightly.StageTime{{Stage: "publish", Task: "churn", Rows: 12345, Elapsed: nightly.Duration(2 * time.Second)},
			{Stage: "publish", Task: "clv", Failed: true, Elapsed: nightly.Duration(time.Second)}},
		Retrain: []nightly.RetrainDecision{{Task: "churn", Model: "churn", Holdout: "2024-09-01", Metric: "roc_auc", Margin: 0.01,
			Champion: 1, Challenger: 2, ChampionValue: 0.81, ChallengerValue: 0.83, Promoted: true, Reason: "won by 0.02"}},
		Quality: []nightly.QualityPoint{{Task: "churn", AsOf: "2025-01-01", Publication: "2024-10-01", Customers: 900, AUC: 0.6,
			Calibration: 0.2, Warnings: []string{"roc auc 0.6000 below the floor 0.65"}}},
		Triggers: &nightly.TriggerSummary{Status: nightly.StatusPublished, Publication: "scores/demo/triggers/2025-01-01/", Events: 7,
			ByRule: map[string]int64{"lapsed": 5, "loyal": 2}, CooledDown: map[string]int64{"lapsed": 3}, OptedOut: map[string]int64{"loyal": 1}},
	}
	d, err := RunDocument(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{`id="outcome"`, `id="stages"`, `id="run-stages"`, `id="tasks"`, `id="retraining"`,
		`id="quality-after-the-fact"`, `id="triggers"`, `id="run-triggers"`, "12,345", "promoted the challenger",
		"below the floor 0.65", "lapsed", "no model &lt;clv&gt;", "1 of 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("the run report has no %s", want)
		}
	}
	if strings.Contains(page, "<clv>") {
		t.Error("an error message reached the page unescaped")
	}
}
