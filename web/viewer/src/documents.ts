// Documents shown instead of images: Structured Reports as their content tree, encapsulated PDF
// in the browser's PDF viewer, and a summary for other non-image objects.

import { T, binaryValue, type Dataset, displayName, formatDate, formatTime, items, str, strs } from './dicomweb';
import type { Series } from './series';

function h<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function codeMeaning(ds: Dataset | undefined, seq: string): string {
  const c = items(ds, seq)[0];
  return str(c, T.CodeMeaning) || str(c, T.CodeValue);
}

/** The value of an SR content item as text (PS3.3 C.17.3.2). */
function itemValue(it: Dataset): string {
  switch (str(it, T.ValueType)) {
    case 'TEXT':
      return str(it, T.TextValue);
    case 'CODE':
      return codeMeaning(it, T.ConceptCodeSequence);
    case 'NUM': {
      const mv = items(it, T.MeasuredValueSequence)[0];
      const unit = items(mv, T.MeasurementUnitsCodeSequence)[0];
      const u = str(unit, T.CodeValue) === '1' ? '' : str(unit, T.CodeValue) || str(unit, T.CodeMeaning);
      return [str(mv, T.NumericValue), u].filter(Boolean).join(' ');
    }
    case 'DATETIME':
      return str(it, T.DateTime);
    case 'DATE':
      return formatDate(str(it, T.Date));
    case 'TIME':
      return formatTime(str(it, T.Time));
    case 'PNAME':
      return displayName(it, T.PersonNameValue);
    case 'UIDREF':
      return str(it, T.UID);
    case 'IMAGE':
    case 'COMPOSITE':
    case 'WAVEFORM': {
      const ref = items(it, '00081199')[0];
      return ref ? `reference to ${str(ref, '00081155')}` : 'reference';
    }
    case 'SCOORD':
    case 'SCOORD3D':
      return `${str(it, '00700023')} (${strs(it, '00700022').length / 2} points)`;
    default:
      return '';
  }
}

function contentTree(parent: HTMLElement, list: Dataset[], depth: number): void {
  if (!list.length || depth > 32) return;
  const ul = h('ul');
  for (const it of list) {
    const li = h('li');
    const name = codeMeaning(it, T.ConceptNameCodeSequence);
    const value = itemValue(it);
    const type = str(it, T.ValueType);
    if (type === 'CONTAINER') {
      li.appendChild(h('strong', name || 'Container'));
    } else {
      if (name) li.appendChild(h('span', `${name}: `, 'concept'));
      li.appendChild(h('span', value, 'value'));
    }
    contentTree(li, items(it, T.ContentSequence), depth + 1);
    ul.appendChild(li);
  }
  parent.appendChild(ul);
}

function header(ds: Dataset, title: string): HTMLElement {
  const div = h('div', undefined, 'doc-header');
  div.appendChild(h('h2', title));
  const meta = [
    displayName(ds, T.PatientName),
    str(ds, T.PatientID) && `ID ${str(ds, T.PatientID)}`,
    formatDate(str(ds, T.StudyDate)),
    str(ds, T.SeriesDescription),
  ].filter(Boolean);
  div.appendChild(h('p', meta.join(' · '), 'doc-meta'));
  return div;
}

/** A Structured Report's content as nested lists, every instance of the series in turn. */
export function structuredReport(s: Series): HTMLElement {
  const root = h('div', undefined, 'doc sr');
  for (const inst of s.instances) {
    const ds = inst.ds;
    const title = codeMeaning(ds, T.ConceptNameCodeSequence) || 'Structured Report';
    const art = h('article');
    art.appendChild(header(ds, title));
    const flags = [str(ds, T.CompletionFlag), str(ds, T.VerificationFlag)].filter(Boolean).join(', ');
    if (flags) art.appendChild(h('p', flags, 'doc-meta'));
    contentTree(art, items(ds, T.ContentSequence), 0);
    root.appendChild(art);
  }
  return root;
}

/** Encapsulated PDF: the document fetched as bulk data and opened in the browser's PDF viewer. */
export function pdfDocument(s: Series): HTMLElement {
  const root = h('div', undefined, 'doc pdf');
  for (const inst of s.instances) {
    const ds = inst.ds;
    const art = h('article');
    art.appendChild(header(ds, str(ds, T.DocumentTitle) || 'PDF document'));
    const status = h('p', 'Loading the document…', 'doc-meta');
    art.appendChild(status);
    root.appendChild(art);
    binaryValue(ds, T.EncapsulatedDocument)
      .then(bytes => {
        if (!bytes) throw new Error('the instance has no Encapsulated Document');
        // The value is padded to an even length: trailing NULs are not part of the PDF.
        let end = bytes.length;
        while (end > 0 && bytes[end - 1] === 0) end--;
        const type = str(ds, T.MIMETypeOfEncapsulatedDocument) || 'application/pdf';
        const url = URL.createObjectURL(new Blob([bytes.slice(0, end)], { type }));
        const a = h('a', 'Download the PDF');
        a.href = url;
        a.download = `${inst.sop}.pdf`;
        status.replaceChildren(a, document.createTextNode(` (${Math.round(end / 1024)} kB)`));
        const frame = h('iframe');
        frame.src = url;
        frame.title = 'PDF document';
        art.appendChild(frame);
      })
      .catch(err => {
        status.textContent = `Cannot show the document: ${err instanceof Error ? err.message : String(err)}`;
      });
  }
  return root;
}

const sopNames: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.481.5': 'RT Plan',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection',
  '1.2.840.10008.5.1.4.1.1.9.1.1': '12-lead ECG',
  '1.2.840.10008.5.1.4.1.1.9.1.2': 'General ECG',
  '1.2.840.10008.5.1.4.1.1.66.4': 'Segmentation',
};

/** Objects without pixels or text to show: what they are, and the tag browser for the rest. */
export function otherDocument(s: Series): HTMLElement {
  const root = h('div', undefined, 'doc other');
  for (const inst of s.instances.slice(0, 20)) {
    const ds = inst.ds;
    const art = h('article');
    art.appendChild(header(ds, sopNames[inst.sopClass] ?? (str(ds, T.Modality) || 'DICOM object')));
    art.appendChild(h('p', `SOP Class ${inst.sopClass}; no image to display. Press T for its attributes.`, 'doc-meta'));
    root.appendChild(art);
  }
  return root;
}
