package jpeg

import "github.com/lightbox-pacs/lightbox/codec"

// Transfer syntaxes of the JPEG family this package handles (PS3.5 8.2.1, PS3.6 Table A-1).
const (
	Baseline        = "1.2.840.10008.1.2.4.50" // process 1, 8-bit
	Extended        = "1.2.840.10008.1.2.4.51" // processes 2 and 4, 8 and 12-bit
	FullProgression = "1.2.840.10008.1.2.4.55" // retired: processes 10 and 12 (progressive)
	Lossless        = "1.2.840.10008.1.2.4.57" // process 14, any predictor
	LosslessSV1     = "1.2.840.10008.1.2.4.70" // process 14, first-order prediction
)

// Name names the implementation in codec.Codec.
const Name = "JPEG (Go)"

// Codecs returns a codec for each transfer syntax of the package. One decoder serves them all:
// it follows the process the codestream's frame header names.
func Codecs() []codec.Codec {
	dec := codec.DecoderFunc(Decode)
	return []codec.Codec{
		{TransferSyntax: Baseline, Name: Name, Lossy: true, Decoder: dec, Encoder: codec.EncoderFunc(EncodeBaseline)},
		{TransferSyntax: Extended, Name: Name, Lossy: true, Decoder: dec, Encoder: codec.EncoderFunc(EncodeExtended)},
		{TransferSyntax: FullProgression, Name: Name, Lossy: true, Decoder: dec},
		{TransferSyntax: Lossless, Name: Name, Decoder: dec, Encoder: codec.EncoderFunc(EncodeLossless)},
		{TransferSyntax: LosslessSV1, Name: Name, Decoder: dec, Encoder: codec.EncoderFunc(EncodeLossless)},
	}
}
