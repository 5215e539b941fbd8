import { render } from 'solid-js/web';
import App from './App';
import { applyTheme } from './lib/theme';
import './styles.css';

applyTheme();
render(() => <App />, document.getElementById('root')!);
