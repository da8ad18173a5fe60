# TensorFlow 1 layers
import tensorflow as tf
import tensorflow.compat.v1 as tf1

a = tf.layers.conv2d_transpose(None, 64, 5, strides=2, padding="same")  # <- CBD101
b = tf1.layers.conv2d_transpose(None, 64, 4, 2, "same")
c = tf.contrib.layers.conv2d_transpose(None, 64, 3, 2)  # <- CBD101
