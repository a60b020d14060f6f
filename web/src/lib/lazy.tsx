// A page loaded on first use, so that the first screen downloads only the
// shell and the page it shows.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';

type Props = Record<string, string>;

export function lazy(load: () => Promise<{ default: ComponentType<Props> }>): ComponentType<Props> {
  let loaded: ComponentType<Props> | null = null;
  return function Lazy(props: Props) {
    const [C, setC] = useState<ComponentType<Props> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (C) return;
      load()
        .then((m) => {
          loaded = m.default;
          setC(() => m.default);
        })
        .catch(() => setFailed(true));
    }, []);
    if (failed) return <p role="alert">{t('error.network')}</p>;
    return C ? <C {...props} /> : <p aria-busy="true">{t('common.loading')}</p>;
  };
}
