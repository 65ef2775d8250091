import { useRef } from 'react';

/** A button that opens the system file dialog (in Electron too: a file input is the native dialog). */
export function FileButton(props: { label: string; accept?: string; onFile: (f: File) => void; primary?: boolean; testId?: string }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button className={props.primary ? 'primary' : ''} onClick={() => input.current?.click()}>
        {props.label}
      </button>
      <input
        ref={input}
        type="file"
        hidden
        data-testid={props.testId}
        {...(props.accept ? { accept: props.accept } : {})}
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) props.onFile(f);
        }}
      />
    </>
  );
}
