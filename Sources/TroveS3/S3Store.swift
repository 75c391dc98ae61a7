public import TroveS3Client
