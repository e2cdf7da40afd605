package datasets

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// int96 builds an INT96 timestamp: nanoseconds of the day, Julian day.
func int96(julianDay uint32, nanos uint64) parquet.Value {
	return parquet.Int96Value(deprecated.Int96{uint32(nanos), uint32(nanos >> 32), julianDay})
}

// be returns x as a big-endian two's complement of n bytes.
func be(x int64, n int) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(x))
	if n <= 8 {
		return b[8-n:]
	}
	pad := make([]byte, n-8)
	if x < 0 {
		for i := range pad {
			pad[i] = 0xff
		}
	}
	return append(pad, b...)
}

// TestParquetText is the table of value -> text for every physical and
// logical type pair pyarrow, DuckDB and Spark write. The uint32 and the
// FIXED_LEN_BYTE_ARRAY decimal rows failed with import's former valueText
// ("-294967296" and the raw bytes).
func TestParquetText(t *testing.T) {
	flba16 := parquet.FixedLenByteArrayType(16)
	cases := []struct {
		name    string
		typ     parquet.Type
		v       parquet.Value
		want    string
		instant bool
	}{
		{"int8", parquet.Int(8).Type(), parquet.Int32Value(-8), "-8", false},
		{"uint8", parquet.Uint(8).Type(), parquet.Int32Value(255), "255", false},
		{"int16", parquet.Int(16).Type(), parquet.Int32Value(-300), "-300", false},
		{"uint16", parquet.Uint(16).Type(), parquet.Int32Value(65535), "65535", false},
		{"int32", parquet.Int(32).Type(), parquet.Int32Value(-2000000000), "-2000000000", false},
		{"uint32", parquet.Uint(32).Type(), parquet.Int32Value(int32(-294967296)), "4000000000", false},
		{"int64", parquet.Int(64).Type(), parquet.Int64Value(-9000000000000000000), "-9000000000000000000", false},
		{"uint64", parquet.Uint(64).Type(), parquet.Int64Value(-446744073709551616), "18000000000000000000", false},
		{"plain int32", parquet.Int32Type, parquet.Int32Value(7), "7", false},
		{"plain int64", parquet.Int64Type, parquet.Int64Value(-7), "-7", false},
		{"decimal int32", parquet.Decimal(2, 4, parquet.Int32Type).Type(), parquet.Int32Value(1250), "12.50", false},
		{"decimal int32 small", parquet.Decimal(2, 4, parquet.Int32Type).Type(), parquet.Int32Value(-5), "-0.05", false},
		{"decimal int64", parquet.Decimal(3, 18, parquet.Int64Type).Type(), parquet.Int64Value(-1234567891), "-1234567.891", false},
		{"decimal flba", parquet.Decimal(2, 20, flba16).Type(), parquet.FixedLenByteArrayValue(be(123456789012345, 16)), "1234567890123.45", false},
		{"decimal flba negative", parquet.Decimal(10, 38, flba16).Type(), parquet.FixedLenByteArrayValue(be(-1, 16)), "-0.0000000001", false},
		{"decimal byte array", parquet.Decimal(3, 10, parquet.ByteArrayType).Type(), parquet.ByteArrayValue(be(-1500, 3)), "-1.500", false},
		{"decimal scale 0", parquet.Decimal(0, 9, parquet.Int32Type).Type(), parquet.Int32Value(42), "42", false},
		{"date", parquet.Date().Type(), parquet.Int32Value(19782), "2024-02-29", true},
		{"date before epoch", parquet.Date().Type(), parquet.Int32Value(-1), "1969-12-31", true},
		{"timestamp millis utc", parquet.Timestamp(parquet.Millisecond).Type(), parquet.Int64Value(1709296200125), "2024-03-01T12:30:00.125Z", true},
		{"timestamp micros utc", parquet.Timestamp(parquet.Microsecond).Type(), parquet.Int64Value(1709296200500000), "2024-03-01T12:30:00.5Z", true},
		{"timestamp nanos utc", parquet.Timestamp(parquet.Nanosecond).Type(), parquet.Int64Value(1709296200123456789), "2024-03-01T12:30:00.123456789Z", true},
		{"timestamp millis naive", parquet.TimestampAdjusted(parquet.Millisecond, false).Type(), parquet.Int64Value(1709296200000), "2024-03-01T12:30:00", true},
		{"timestamp micros naive", parquet.TimestampAdjusted(parquet.Microsecond, false).Type(), parquet.Int64Value(-1000000), "1969-12-31T23:59:59", true},
		{"timestamp nanos naive", parquet.TimestampAdjusted(parquet.Nanosecond, false).Type(), parquet.Int64Value(1), "1970-01-01T00:00:00.000000001", true},
		// Spark: 2010-12-01 08:26:00 UTC is Julian day 2455532, 30360 s into it.
		{"int96", parquet.Int96Type, int96(2455532, 30360e9), "2010-12-01T08:26:00Z", true},
		{"int96 fraction", parquet.Int96Type, int96(2440588, 1), "1970-01-01T00:00:00.000000001Z", true},
		{"time millis", parquet.Time(parquet.Millisecond).Type(), parquet.Int32Value(30360500), "08:26:00.5", false},
		{"time micros", parquet.TimeAdjusted(parquet.Microsecond, false).Type(), parquet.Int64Value(86399e6), "23:59:59", false},
		{"boolean", parquet.BooleanType, parquet.BooleanValue(true), "true", false},
		{"float", parquet.FloatType, parquet.FloatValue(0.1), "0.1", false},
		{"float large", parquet.FloatType, parquet.FloatValue(-1.5e20), "-1.5e+20", false},
		{"double", parquet.DoubleType, parquet.DoubleValue(0.1), "0.1", false},
		{"double exact", parquet.DoubleType, parquet.DoubleValue(1.0 / 3), "0.3333333333333333", false},
		{"string", parquet.String().Type(), parquet.ByteArrayValue([]byte("café")), "café", false},
		{"enum", parquet.Enum().Type(), parquet.ByteArrayValue([]byte("happy")), "happy", false},
		{"json", parquet.JSON().Type(), parquet.ByteArrayValue([]byte(`{"a":1}`)), `{"a":1}`, false},
		{"uuid", parquet.UUID().Type(), parquet.FixedLenByteArrayValue([]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}), "123e4567-e89b-12d3-a456-426614174000", false},
		{"binary", parquet.ByteArrayType, parquet.ByteArrayValue([]byte("raw")), "raw", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv, instant := ParquetText(c.typ)
			if got := conv(c.v); got != c.want || instant != c.instant {
				t.Errorf("%s: got %q (instant %v), want %q (instant %v)", c.typ, got, instant, c.want, c.instant)
			}
		})
	}
}

// duckdbTypesRows is what testdata/parquet/types_*.parquet hold, as text:
// the values are the SQL literals of make.mjs.
var duckdbTypesRows = [][]string{
	{"1", "-8", "200", "-300", "60000", "-2000000000", "4000000000", "-9000000000000000000", "18000000000000000000",
		"12.50", "-1234567.891", "12345678901234567890.1234567890", "2024-02-29",
		"2024-03-01T12:30:00.5", "2024-03-01T12:30:00.25Z", "2024-03-01T12:30:00.125", "2024-03-01T12:30:00.123456789",
		"08:26:00.5", "true", "0.1", "0.1", "café", "happy", "123e4567-e89b-12d3-a456-426614174000", `{"a": 1}`},
	{"2", "127", "255", "32767", "65535", "2147483647", "4294967295", "9223372036854775807", "18446744073709551615",
		"-0.05", "0.001", "-0.0000000001", "1969-12-31",
		"1969-12-31T23:59:59", "2010-12-01T08:26:00Z", "1970-01-01T00:00:00", "2262-04-11T23:47:16",
		"23:59:59", "false", "-1.5", "1e+300", "", "sad", "00000000-0000-0000-0000-000000000000", "[]"},
	{"3", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""},
}

// duckdbTypesHeader is the header of the DuckDB type fixtures.
var duckdbTypesHeader = []string{"id", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "dec_i32", "dec_i64", "dec_flba",
	"day", "ts_us", "ts_us_utc", "ts_ms", "ts_ns", "tod", "flag", "f32", "f64", "txt", "mood", "uid", "doc"}

// TestParquetTextDuckDB reads the files DuckDB wrote (plain and
// dictionary pages) and compares every value's text.
func TestParquetTextDuckDB(t *testing.T) {
	for _, c := range []struct {
		file   string
		repeat int
	}{{"types_plain.parquet", 1}, {"types_dict.parquet", 40}} {
		t.Run(c.file, func(t *testing.T) {
			path := datatest.Testdata(t, filepath.Join("parquet", c.file))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var header []string
			var convs []func(parquet.Value) string
			for _, fd := range f.Schema().Fields() {
				header = append(header, fd.Name())
				conv, _ := ParquetText(fd.Type())
				convs = append(convs, conv)
			}
			if !reflect.DeepEqual(header, duckdbTypesHeader) {
				t.Fatalf("header %q", header)
			}
			var got [][]string
			rows := parquet.NewReader(f)
			defer rows.Close()
			buf := make([]parquet.Row, 16)
			for {
				n, err := rows.ReadRows(buf)
				for _, row := range buf[:n] {
					rec := make([]string, len(header))
					for _, v := range row {
						if !v.IsNull() {
							rec[v.Column()] = convs[v.Column()](v)
						}
					}
					got = append(got, rec)
				}
				if err != nil {
					break
				}
			}
			if len(got) != 3*c.repeat {
				t.Fatalf("%d rows, want %d", len(got), 3*c.repeat)
			}
			for i, rec := range got {
				want := duckdbTypesRows[i/c.repeat]
				for j := range rec {
					if rec[j] != want[j] {
						t.Errorf("row %d column %s: %q, want %q", i+1, header[j], rec[j], want[j])
					}
				}
			}
		})
	}
}
