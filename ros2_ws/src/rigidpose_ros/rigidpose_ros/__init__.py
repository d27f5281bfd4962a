"""ROS 2 adapter for rigidpose: messages to numpy, a call to the estimator, results back to messages."""
