// A report's files: photos as thumbnails that open full size in a dialog,
// other files as links. Shared by the board and the report page.
import { useRef, useState } from 'preact/hooks';
import { words } from '../../i18n';

const w = words({
  id: {
    files: 'Lampiran',
    photo: 'Foto {name}, buka ukuran penuh',
    close: 'Tutup foto',
    download: 'Unduh {name} ({size})',
    openFull: 'Buka di tab baru',
  },
  en: {
    files: 'Attachments',
    photo: 'Photo {name}, open full size',
    close: 'Close photo',
    download: 'Download {name} ({size})',
    openFull: 'Open in a new tab',
  },
});

export type FileRef = { n: number; name: string; content_type: string; size: number; url: string };

/** "1,2 MB" */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function Attachments({ files }: { files: FileRef[] }) {
  const [open, setOpen] = useState<FileRef | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  if (!files.length) return null;
  const photos = files.filter((f) => f.content_type.startsWith('image/'));
  const others = files.filter((f) => !f.content_type.startsWith('image/'));
  const show = (f: FileRef) => {
    setOpen(f);
    // after the render that puts the picture in
    requestAnimationFrame(() => dialog.current?.showModal());
  };
  return (
    <div class="files">
      <h4 class="visually-hidden">{w('files')}</h4>
      {photos.length > 0 && (
        <ul class="thumbs">
          {photos.map((f) => (
            <li key={f.n}>
              <button type="button" class="thumb" onClick={() => show(f)} aria-label={w('photo', { name: f.name })}>
                <img src={f.url} alt="" loading="lazy" width={96} height={96} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {others.length > 0 && (
        <ul class="docs">
          {others.map((f) => (
            <li key={f.n}>
              <a href={f.url} download={f.name}>
                {w('download', { name: f.name, size: size(f.size) })}
              </a>
            </li>
          ))}
        </ul>
      )}
      <dialog ref={dialog} class="photo" aria-label={open?.name ?? ''} onClose={() => setOpen(null)}>
        {open && (
          <>
            <img src={open.url} alt={open.name} />
            <p class="row">
              <a href={open.url} target="_blank" rel="noopener">
                {w('openFull')}
              </a>
              <button type="button" autoFocus onClick={() => dialog.current?.close()}>
                {w('close')}
              </button>
            </p>
          </>
        )}
      </dialog>
    </div>
  );
}
