package datasets

import (
	"bytes"
	"testing"

	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// The codec's frames decode with parquet-go's own codec (what readers
// use), and its Decode undoes its Encode, with encoders reused.
func TestZstdCodecRoundTrip(t *testing.T) {
	c := &zstdCodec{level: pqzstd.SpeedFastest}
	var enc, dec []byte
	for i, src := range [][]byte{[]byte(benchOrdersCSV(2000)), {}, bytes.Repeat([]byte("W1"), 1<<19)} {
		var err error
		if enc, err = c.Encode(enc, src); err != nil {
			t.Fatal(err)
		}
		if dec, err = c.Decode(dec, enc); err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("input %d: Decode(Encode(x)) != x (%v)", i, err)
		}
		var theirs pqzstd.Codec
		if dec, err = theirs.Decode(dec, enc); err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("input %d: parquet-go's codec does not read the frame (%v)", i, err)
		}
	}
}
