import './base.css';
import './history.css';
import './classroom.css';
import './replay.css';
