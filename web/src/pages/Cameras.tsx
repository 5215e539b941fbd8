// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function Cameras() {
  return <Empty title="Cameras" />;
}
