"""Wire protocol modules, generated from the .proto files by the build.

``transfer_pb2`` (package ``grpc``): agent <-> server messages and services.
``bridge_pb2`` (package ``bridge``): agent core <-> plugin pipe messages.
``mq_pb2`` (package ``hids_pb``): Kafka message body.
"""
