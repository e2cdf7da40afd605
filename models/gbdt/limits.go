package gbdt

// Limits bound what Import accepts. A zero field means the default.
type Limits struct {
	// MaxBytes is the largest model file read (default 256 MiB).
	MaxBytes int64
	// MaxTrees is the most trees a model may have (default 100,000).
	MaxTrees int
	// MaxLeaves is the most leaves one tree may have (default 131,072).
	MaxLeaves int
	// MaxNodes is the most nodes (internal and leaves) over all trees
	// (default 16,777,216).
	MaxNodes int64
	// MaxFeatures is the most input features (default 100,000).
	MaxFeatures int
	// MaxCategory is the largest category value a categorical split may
	// name (default 1,048,575).
	MaxCategory int
	// MaxLine is the longest line, and the largest tree block, of a text
	// model (default 8 MiB).
	MaxLine int
}

// DefaultLimits returns the defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:    256 << 20,
		MaxTrees:    100_000,
		MaxLeaves:   1 << 17,
		MaxNodes:    1 << 24,
		MaxFeatures: 100_000,
		MaxCategory: 1<<20 - 1,
		MaxLine:     8 << 20,
	}
}

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxTrees <= 0 {
		l.MaxTrees = d.MaxTrees
	}
	if l.MaxLeaves <= 0 {
		l.MaxLeaves = d.MaxLeaves
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxFeatures <= 0 {
		l.MaxFeatures = d.MaxFeatures
	}
	if l.MaxCategory <= 0 {
		l.MaxCategory = d.MaxCategory
	}
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	return l
}
