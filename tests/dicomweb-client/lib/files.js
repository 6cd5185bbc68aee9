// The corpus files the tests store: one or more per transfer syntax, several SOP classes, and
// the multi-frame files whose frames are retrieved.
export const FILES = [
  'pydicom-data__liver.dcm', // Segmentation, explicit VR LE, 1-bit, 3 frames
  'pydicom__examples_ybr_color.dcm', // US multi-frame, JPEG baseline, 30 frames
  'pydicom-data__emri_small_big_endian.dcm', // Enhanced MR, explicit VR BE, 10 frames of 16 bits
  'pydicom__MR_small_implicit.dcm', // MR, implicit VR LE
  'cornerstone3D__CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm', // deflated
  'pydicom__SC_rgb_rle_2frame.dcm', // SC, RLE, 2 frames
  'dicomParser__CT0012.not_fragmented_bot_jpeg_ls.80.dcm', // Enhanced CT, JPEG-LS, 2 frames
  'pydicom-data__693_J2KR.dcm', // CT, JPEG 2000 lossless
  'pydicom-data__US1_J2KI.dcm', // US, JPEG 2000
  'DICOMHTJ2K__XA1_JPH.dcm', // XA, HTJ2K
  'dcm4che__MR-JPEGLosslessSV1.dcm', // MR, JPEG lossless SV1
  'pydicom__JPGExtended.dcm', // SC, JPEG extended
  'orthanc-tests__sample-pdf.dcm', // Encapsulated PDF
  'pydicom__chrH31.dcm', // ISO 2022 IR 87 (Japanese) names
  'pydicom__CT_small.dcm', // CT, explicit VR LE
];

export const LIVER = 'pydicom-data__liver.dcm';
export const YBR = 'pydicom__examples_ybr_color.dcm';
export const EMRI_BE = 'pydicom-data__emri_small_big_endian.dcm';
export const JLS = 'dicomParser__CT0012.not_fragmented_bot_jpeg_ls.80.dcm';
export const PDF = 'orthanc-tests__sample-pdf.dcm';
