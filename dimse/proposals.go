package dimse

import (
	"sort"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
)

// NativeSyntaxes are the transfer syntaxes proposed for commands and identifiers.
var NativeSyntaxes = []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}

// Query/Retrieve information models (PS3.4 C.6).
const (
	PatientRootFind = uid.PatientRootQueryRetrieveInformationModelFind
	PatientRootMove = uid.PatientRootQueryRetrieveInformationModelMove
	PatientRootGet  = uid.PatientRootQueryRetrieveInformationModelGet
	StudyRootFind   = uid.StudyRootQueryRetrieveInformationModelFind
	StudyRootMove   = uid.StudyRootQueryRetrieveInformationModelMove
	StudyRootGet    = uid.StudyRootQueryRetrieveInformationModelGet
)

// EchoProposal proposes the Verification SOP class.
func EchoProposal() Proposal {
	return Proposal{AbstractSyntax: VerificationSOPClass, TransferSyntaxes: NativeSyntaxes}
}

// Proposals returns one proposal per abstract syntax with the native transfer syntaxes.
func Proposals(abstractSyntaxes ...string) []Proposal {
	out := make([]Proposal, len(abstractSyntaxes))
	for i, as := range abstractSyntaxes {
		out[i] = Proposal{AbstractSyntax: as, TransferSyntaxes: NativeSyntaxes}
	}
	return out
}

// StorageSOPClasses returns the storage SOP classes of the UID registry that are not retired.
func StorageSOPClasses() []string {
	var out []string
	for _, info := range uid.All() {
		if info.Type == uid.TypeSOPClass && !info.Retired && strings.HasSuffix(info.Keyword, "Storage") {
			out = append(out, info.UID)
		}
	}
	return out
}

// StorageProposals proposes each (SOP class, transfer syntax) pair that is to be sent in a
// context of its own, so that every instance can go as stored; each class also gets a context
// with the native syntaxes. pairs maps SOP class → transfer syntaxes. At most 128 contexts fit
// one association: the caller splits larger sets.
func StorageProposals(pairs map[string][]string) []Proposal {
	classes := make([]string, 0, len(pairs))
	for c := range pairs {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var out []Proposal
	for _, c := range classes {
		native := false
		for _, ts := range pairs[c] {
			if ts == dicom.ExplicitVRLittleEndian || ts == dicom.ImplicitVRLittleEndian {
				native = true
				continue
			}
			out = append(out, Proposal{AbstractSyntax: c, TransferSyntaxes: []string{ts}})
		}
		if native || len(pairs[c]) == 0 {
			out = append(out, Proposal{AbstractSyntax: c, TransferSyntaxes: NativeSyntaxes})
		}
	}
	return out
}

// GetProposals proposes a C-GET information model and the storage classes it may bring back,
// with the SCP role selected (PS3.4 C.4.3.3), each in the given transfer syntaxes (default the
// native ones). The storage classes default to the most common image and document classes, so
// that all fit in one association.
func GetProposals(model string, syntaxes []string, storageClasses ...string) []Proposal {
	if len(syntaxes) == 0 {
		syntaxes = NativeSyntaxes
	}
	if len(storageClasses) == 0 {
		storageClasses = CommonStorageClasses
	}
	out := []Proposal{{AbstractSyntax: model, TransferSyntaxes: NativeSyntaxes}}
	for _, c := range storageClasses {
		if len(out) == 128 {
			break
		}
		out = append(out, Proposal{AbstractSyntax: c, TransferSyntaxes: syntaxes, SelectRoles: true, SCU: false, SCP: true})
	}
	return out
}

// CommonStorageClasses are the storage SOP classes of the modalities a PACS meets daily.
var CommonStorageClasses = []string{
	uid.CTImageStorage, uid.EnhancedCTImageStorage, uid.MRImageStorage, uid.EnhancedMRImageStorage,
	uid.UltrasoundImageStorage, uid.UltrasoundMultiFrameImageStorage, uid.ComputedRadiographyImageStorage,
	uid.DigitalXRayImageStorageForPresentation, uid.DigitalXRayImageStorageForProcessing,
	uid.DigitalMammographyXRayImageStorageForPresentation, uid.DigitalMammographyXRayImageStorageForProcessing,
	uid.XRayAngiographicImageStorage, uid.XRayRadiofluoroscopicImageStorage, uid.PositronEmissionTomographyImageStorage,
	uid.NuclearMedicineImageStorage, uid.SecondaryCaptureImageStorage, uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
	uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage, uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
	uid.MultiFrameSingleBitSecondaryCaptureImageStorage,
	uid.RTImageStorage, uid.RTDoseStorage, uid.RTStructureSetStorage, uid.RTPlanStorage,
	uid.BasicTextSRStorage, uid.EnhancedSRStorage, uid.ComprehensiveSRStorage, uid.KeyObjectSelectionDocumentStorage,
	uid.GrayscaleSoftcopyPresentationStateStorage, uid.EncapsulatedPDFStorage, uid.SegmentationStorage,
	uid.VLPhotographicImageStorage, uid.TwelveLeadECGWaveformStorage, uid.ParametricMapStorage,
}
