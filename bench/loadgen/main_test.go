package main

import "testing"

// TestCheckLookup: a lookup whose rows belong to another publication than
// the freshness it names is counted as mixed; a consistent one is not.
func TestCheckLookup(t *testing.T) {
	ok := `{"customer_id":"C1","tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024-03-02","probability":0.5}]}}}}`
	mixed := `{"customer_id":"C1","tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024-03-01","probability":0.5}]}}}}`
	if m, err := checkLookup([]byte(ok)); m || err != nil {
		t.Fatalf("consistent: %v %v", m, err)
	}
	if m, err := checkLookup([]byte(mixed)); !m || err == nil {
		t.Fatalf("mixed: %v %v", m, err)
	}
	escaped := `{"tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024\u002d03-02"}],"offers":[{"rank":1}]}}}}`
	if m, err := checkLookup([]byte(escaped)); m || err != nil {
		t.Fatalf("escaped as_of, a table without one: %v %v", m, err)
	}
	null := `{"tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":null}]}}}}`
	if m, _ := checkLookup([]byte(null)); !m {
		t.Fatal("a null as_of passed")
	}
	if _, err := checkLookup([]byte(`{"tasks":`)); err == nil {
		t.Fatal("a cut body passed")
	}
	if _, err := checkPredict([]byte(`{"predictions":[null]}`)); err == nil {
		t.Fatal("a null prediction passed")
	}
}
