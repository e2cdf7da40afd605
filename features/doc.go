// Package features builds point-in-time feature tables (churn per
// customer; propensity and demand to come) and defines the Schema that
// binds a table's columns to a model.
package features
