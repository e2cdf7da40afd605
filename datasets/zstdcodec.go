package datasets

import (
	"github.com/klauspost/compress/zstd"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is parquet-go's zstd codec with the encoders kept in a free
// list rather than a sync.Pool: a pool is emptied by every garbage
// collection, and an import collects often under its memory limit, so
// parquet-go's codec kept building encoders (their tables are MiBs).
type zstdCodec struct {
	level    zstd.EncoderLevel
	encoders freeList[*zstd.Encoder]
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, ok := c.encoders.get()
	if !ok {
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(c.level),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
			// Pages are at most a few hundred KiB: the default 8 MiB window
			// made each encoder allocate 16 MiB of history, which counts
			// against the import's memory limit and so made the GC run
			// more often.
			zstd.WithWindowSize(1<<20),
		)
		if err != nil {
			return nil, err
		}
	}
	defer c.encoders.put(e)
	return e.EncodeAll(src, dst[:0]), nil
}

// Decode is parquet-go's: readers decode with the codec the file names,
// so this one only completes the interface.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	return zstdDecoder.Decode(dst, src)
}

var zstdDecoder pqzstd.Codec
