// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function CameraDetail() {
  return <Empty title="CameraDetail" />;
}
