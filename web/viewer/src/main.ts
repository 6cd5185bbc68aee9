// The entry point: the study list at /, the viewer at /viewer?StudyInstanceUIDs=….
import './style.css';
import { studyList } from './studylist';
import { ViewerApp } from './viewer';

const root = document.getElementById('app')!;
if (location.pathname.replace(/\/+$/, '') === '/viewer') {
  const p = new URLSearchParams(location.search);
  // StudyInstanceUIDs may be repeated or comma-separated.
  const studies = p
    .getAll('StudyInstanceUIDs')
    .flatMap(v => v.split(','))
    .map(s => s.trim())
    .filter(Boolean);
  void new ViewerApp(root, [...new Set(studies)]).start();
} else {
  studyList(root);
}
