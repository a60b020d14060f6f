// A choice of template, for the compliance page and the stage board.
import type { Template } from './shared';
import { w } from './words';

export function TemplatePick({ id, templates, value, onChange }: { id: string; templates: Template[]; value: string; onChange: (id: string) => void }) {
  return (
    <label>
      {w('template')}
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {templates.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}
