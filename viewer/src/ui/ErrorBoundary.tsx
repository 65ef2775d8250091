import { Component, type ReactNode } from 'react';

/** A panel that fails to render shows why, instead of taking the whole window down. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: string | null }> {
  override state = { error: null as string | null };

  static getDerivedStateFromError(e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }

  override render() {
    if (this.state.error) {
      return (
        <div className="error" role="alert">
          This part of the viewer could not be shown: {this.state.error}{' '}
          <button className="link" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
