package datasets

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ParquetText returns how the non-null values of a Parquet column of type t
// become text, and whether that text is an ISO 8601 instant (a DATE, a
// TIMESTAMP or an INT96). It is the one conversion used wherever a Parquet
// file is read as a table of text: import, `train --table`, `models
// predict` and the GBDT reference check (package datasets/table).
//
// The pairs of physical and logical types that pyarrow, DuckDB and Spark
// write:
//
//   - INT32/INT64, signed (INT(8|16|32|64, true) or none): decimal;
//     unsigned (INT(n, false), UINT_n): decimal of the unsigned value, so a
//     UINT32 4000000000 is "4000000000".
//   - DECIMAL(p, s) on INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY
//     (big-endian two's complement): plain decimal notation with s
//     fraction digits ("-12.50").
//   - DATE: 2006-01-02.
//   - TIMESTAMP(MILLIS|MICROS|NANOS): 2006-01-02T15:04:05.999999999, with a
//     final Z when adjusted to UTC; without it the time is naive (read in
//     the dataset's zone at import).
//   - INT96 (Impala and Spark timestamps, nanoseconds of a Julian day): an
//     instant in UTC, with Z.
//   - TIME(MILLIS|MICROS|NANOS): 15:04:05.999999999.
//   - BOOLEAN: true or false.
//   - FLOAT: the shortest text that reads back as the same float32 (what
//     DuckDB, Spark and pandas print: 0.1, not 0.10000000149011612);
//     DOUBLE: the shortest text that reads back as the same float64.
//   - BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY as STRING, ENUM, JSON, BSON or
//     none: the bytes as they are (import checks they are UTF-8); UUID:
//     the canonical 8-4-4-4-12 hex form.
//
// Nulls are for the caller (they are the empty string, a missing value).
func ParquetText(t parquet.Type) (conv func(parquet.Value) string, instant bool) {
	var lv format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		lv = lt.Value
	}
	kind := t.Kind()
	switch l := lv.(type) {
	case *format.DecimalType:
		scale := int(l.Scale)
		switch kind {
		case parquet.Int32:
			return func(v parquet.Value) string { return decimalText(big.NewInt(int64(v.Int32())), scale) }, false
		case parquet.Int64:
			return func(v parquet.Value) string { return decimalText(big.NewInt(v.Int64()), scale) }, false
		case parquet.ByteArray, parquet.FixedLenByteArray:
			return func(v parquet.Value) string { return decimalText(twosComplement(v.ByteArray()), scale) }, false
		}
	case *format.DateType:
		if kind == parquet.Int32 {
			return func(v parquet.Value) string {
				return time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly)
			}, true
		}
	case *format.TimestampType:
		if kind == parquet.Int64 {
			unit := timeUnit(l.Unit)
			layout := "2006-01-02T15:04:05.999999999"
			if l.IsAdjustedToUTC {
				layout += "Z"
			}
			return func(v parquet.Value) string { return unitTime(v.Int64(), unit).Format(layout) }, true
		}
	case *format.TimeType:
		unit := timeUnit(l.Unit)
		switch kind {
		case parquet.Int32:
			return func(v parquet.Value) string { return unitTime(int64(v.Int32()), unit).Format("15:04:05.999999999") }, false
		case parquet.Int64:
			return func(v parquet.Value) string { return unitTime(v.Int64(), unit).Format("15:04:05.999999999") }, false
		}
	case *format.IntType:
		if !l.IsSigned {
			switch kind {
			case parquet.Int32:
				return func(v parquet.Value) string { return strconv.FormatUint(uint64(v.Uint32()), 10) }, false
			case parquet.Int64:
				return func(v parquet.Value) string { return strconv.FormatUint(v.Uint64(), 10) }, false
			}
		}
	case *format.UUIDType:
		if kind == parquet.FixedLenByteArray {
			return func(v parquet.Value) string { return uuidText(v.ByteArray()) }, false
		}
	}
	switch kind {
	case parquet.Boolean:
		return func(v parquet.Value) string { return strconv.FormatBool(v.Boolean()) }, false
	case parquet.Int32:
		return func(v parquet.Value) string { return strconv.FormatInt(int64(v.Int32()), 10) }, false
	case parquet.Int64:
		return func(v parquet.Value) string { return strconv.FormatInt(v.Int64(), 10) }, false
	case parquet.Int96:
		return func(v parquet.Value) string { return int96Time(v).Format("2006-01-02T15:04:05.999999999Z") }, true
	case parquet.Float:
		return func(v parquet.Value) string { return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32) }, false
	case parquet.Double:
		return func(v parquet.Value) string { return strconv.FormatFloat(v.Double(), 'g', -1, 64) }, false
	}
	return func(v parquet.Value) string { return string(v.ByteArray()) }, false
}

// timeUnit reads a TIME or TIMESTAMP unit (microseconds when unset).
func timeUnit(u format.TimeUnit) time.Duration {
	if u.Value == nil {
		return time.Microsecond
	}
	return u.Value.Duration()
}

// unitTime is n units since the epoch, in UTC.
func unitTime(n int64, unit time.Duration) time.Time {
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(n).UTC()
	case time.Nanosecond:
		return time.Unix(0, n).UTC()
	}
	return time.UnixMicro(n).UTC()
}

// julianEpoch is the Julian day number of 1970-01-01.
const julianEpoch = 2440588

// int96Time reads an INT96 timestamp: nanoseconds of the day in the first
// 8 bytes (little endian), the Julian day in the last 4.
func int96Time(v parquet.Value) time.Time {
	i := v.Int96()
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	days := int64(i[2]) - julianEpoch
	return time.Unix(days*86400, nanos).UTC()
}

// twosComplement reads a big-endian two's complement integer.
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

// decimalText writes unscaled * 10^-scale in plain notation.
func decimalText(unscaled *big.Int, scale int) string {
	s := unscaled.String()
	if scale <= 0 {
		if unscaled.Sign() == 0 {
			return "0"
		}
		for range -scale {
			s += "0"
		}
		return s
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// uuidText writes 16 bytes as 8-4-4-4-12 lower-case hex; other lengths as
// plain hex.
func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	if len(b) != 16 {
		return h
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
