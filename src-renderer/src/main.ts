import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { followSystemTheme } from './theme';

followSystemTheme();

mount(App, { target: document.getElementById('app')! });
